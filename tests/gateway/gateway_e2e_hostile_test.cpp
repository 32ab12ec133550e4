// End to end, in one process over real sockets: an upstream that lies about usage (1e18 tokens,
// negative, fractional, not a number, revised mid-stream), streamed and whole, is the upstream's
// protocol error: the request is charged its whole reservation, the event is logged once and
// counted, no reservation stays open, and the gateway keeps serving. Also: the length fields a
// client sends never reach the upstream, and a body that is not UTF-8 is a clear 400.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway_test_util.h"
#include "hostile_upstream.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";

// The HostileUpstream as the rig's one upstream (still named kUpstreamName).
struct HostileRig {
  explicit HostileRig(std::vector<std::string> extra_length_fields = {})
      : rig({.configure = [this, extra = std::move(extra_length_fields)](GatewayConfig& c) {
          c.upstreams[0].base_url = upstream.base_url();
          c.limits.extra_length_fields = extra;
        }}) {}

  [[nodiscard]] double metric(const std::string& name, const std::string& labels = {}) const {
    return metric_value(rig.get("/metrics").body, name, labels).value_or(-1);
  }
  [[nodiscard]] double protocol_errors() const {
    return metric("clearhouse_upstream_protocol_errors_total",
                  std::string("upstream=\"") + kUpstreamName + "\"");
  }

  HostileUpstream upstream;  // before the rig: the rig's config names its port
  GatewayRig rig;
};

json chat_request(bool stream) {
  json body = {{"model", kModel}, {"messages", {{{"role", "user"}, {"content", "2+2?"}}}}};
  if (stream) body["stream"] = true;
  return body;
}

// What the client got, and what the ledger recorded for it.
struct Outcome {
  int status = 0;
  bool complete = false;  // a stream ended with [DONE]; a whole answer is complete when 200
  std::optional<ledger::RequestRecord> record;
};

Outcome send(HostileRig& h, bool stream) {
  Outcome o;
  if (stream) {
    const StreamReply r = h.rig.stream(kChat, chat_request(true));
    o.status = r.status;
    o.complete = r.ends_with_done() && !r.has_error_event();
    o.record = h.rig.record(r);
  } else {
    const Reply r = h.rig.post(kChat, chat_request(false));
    o.status = r.status;
    o.complete = r.status == 200;
    o.record = h.rig.record(r);
  }
  return o;
}

// Each lie, streamed and whole: charged the reservation, counted, nothing left open, still up.
void expect_charged_in_full(const std::vector<json>& lie, const std::string& what) {
  for (const bool stream : {true, false}) {
    SCOPED_TRACE(what + (stream ? " (streamed)" : " (whole)"));
    HostileRig h;
    h.upstream.script(lie);
    const Outcome o = send(h, stream);
    EXPECT_EQ(o.status, 200);
    EXPECT_TRUE(o.complete);
    ASSERT_TRUE(o.record.has_value());
    EXPECT_EQ(o.record->state, ledger::RequestState::kSettled);
    EXPECT_EQ(o.record->used_tokens, o.record->reserved_tokens);
    EXPECT_EQ(o.record->reserved_tokens, kGatewayCap);
    EXPECT_TRUE(h.rig.ledger_settled());
    EXPECT_EQ(h.metric("clearhouse_open_reservations"), 0);
    EXPECT_EQ(h.protocol_errors(), 1);

    // The process is unharmed: it answers the next request, and charges an honest report as is.
    h.upstream.script({7});
    const Outcome next = send(h, stream);
    EXPECT_EQ(next.status, 200);
    ASSERT_TRUE(next.record.has_value());
    EXPECT_EQ(next.record->used_tokens, 7);
    EXPECT_EQ(h.protocol_errors(), 1);
    EXPECT_EQ(h.rig.get("/health").status, 200);
  }
}

TEST(GatewayE2EHostile, AbsurdUsageIsChargedTheReservation) {
  expect_charged_in_full({1e18}, "1e18 as a double");
  expect_charged_in_full({json(std::int64_t{1'000'000'000'000'000'000})}, "1e18 as an integer");
  expect_charged_in_full({json(std::uint64_t{18'446'744'073'709'551'615u})}, "2^64 - 1");
  expect_charged_in_full({1e300}, "1e300");
  expect_charged_in_full({kGatewayCap + 1}, "one more than the cap");
}

TEST(GatewayE2EHostile, NegativeOrNonIntegerUsageIsChargedTheReservation) {
  expect_charged_in_full({-5}, "negative");
  expect_charged_in_full({-1e18}, "very negative");
  expect_charged_in_full({12.5}, "fractional");
  expect_charged_in_full({"12"}, "a string");
}

TEST(GatewayE2EHostile, UsageRevisedMidStreamIsChargedTheReservation) {
  HostileRig h;
  h.upstream.script({150, 2});  // the last report used to win: 2 tokens charged
  const Outcome o = send(h, /*stream=*/true);
  EXPECT_EQ(o.status, 200);
  ASSERT_TRUE(o.record.has_value());
  EXPECT_EQ(o.record->used_tokens, o.record->reserved_tokens);
  EXPECT_EQ(h.protocol_errors(), 1);
  EXPECT_TRUE(h.rig.ledger_settled());

  h.upstream.script({150, 150});  // the same report twice is one report
  const Outcome same = send(h, /*stream=*/true);
  ASSERT_TRUE(same.record.has_value());
  EXPECT_EQ(same.record->used_tokens, 150);
  EXPECT_EQ(h.protocol_errors(), 1);
}

TEST(GatewayE2EHostile, AProtocolErrorIsLoggedOnceWithoutSecrets) {
  HostileRig h;
  h.upstream.script({-3});
  ::testing::internal::CaptureStderr();
  const Reply r = h.rig.post(kChat, chat_request(false));
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(r.status, 200);
  const std::string id = r.header("x-clearhouse-request-id");
  const std::string line = std::string("gateway: upstream '") + kUpstreamName +
                           "' broke the protocol on request " + id +
                           ": completion_tokens is negative; charged its whole reservation (" +
                           std::to_string(kGatewayCap) + " tokens)\n";
  EXPECT_NE(log.find(line), std::string::npos) << log;
  EXPECT_EQ(log.find("broke the protocol"), log.rfind("broke the protocol")) << log;
  EXPECT_EQ(log.find(kUpstreamApiKey), std::string::npos);
  EXPECT_EQ(log.find(kAliceKey), std::string::npos);
}

// The gateway owns the output length: n_predict (which llama.cpp's OpenAI layer lets override
// max_tokens), TGI's max_new_tokens, min_tokens, max_length, ignore_eos and the configured extra
// fields never reach the upstream; the cap does.
TEST(GatewayE2EHostile, LengthFieldsNeverReachTheUpstream) {
  HostileRig h({"max_gen_len"});
  h.upstream.script({7});
  json body = chat_request(false);
  body.update({{"max_tokens", 50},
               {"n_predict", 100000},
               {"max_new_tokens", 100000},
               {"min_tokens", 100000},
               {"max_length", 100000},
               {"ignore_eos", true},
               {"max_gen_len", 100000},
               {"temperature", 0.5}});
  ASSERT_EQ(h.rig.post(kChat, body).status, 200);
  const std::vector<json> sent = h.upstream.bodies();
  ASSERT_EQ(sent.size(), 1u);
  for (const char* field :
       {"n_predict", "max_new_tokens", "min_tokens", "max_length", "ignore_eos", "max_gen_len"}) {
    EXPECT_FALSE(sent[0].contains(field)) << field << " reached the upstream: " << sent[0].dump();
  }
  EXPECT_EQ(sent[0]["max_tokens"], 50);
  EXPECT_EQ(sent[0]["temperature"], 0.5);
}

// A body that is not UTF-8 is the client's error, said plainly; it used to be a 500 with the JSON
// library's internal text (its error message quoted the bad byte, and serializing that threw).
TEST(GatewayE2EHostile, InvalidUtf8InABodyIsA400) {
  HostileRig h;
  const std::string latin1 = std::string(R"({"model": ")") + kModel +
                             R"(", "messages": [{"role": "user", "content": "caf)" + "\xe9" +
                             R"("}]})";
  const Reply r = h.rig.request("POST", kChat, latin1);
  EXPECT_EQ(r.status, 400) << r.body;
  ASSERT_TRUE(is_openai_error(r.body));
  EXPECT_EQ(r.json_body()["error"]["type"], "invalid_request_error");
  EXPECT_NE(r.json_body()["error"]["message"].get<std::string>().find("not valid UTF-8"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(h.rig.requests_recorded(), 0);
  EXPECT_TRUE(h.upstream.bodies().empty());

  // Through the router too: an unknown path of invalid UTF-8 is a 404 whose body is JSON.
  const http::HttpResponse unknown = h.rig.gateway().handle({"GET", "/v1/\xff\xfe", {}, ""});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(json::accept(unknown.body)) << unknown.body;
}

}  // namespace
}  // namespace clearhouse::gateway::testing
