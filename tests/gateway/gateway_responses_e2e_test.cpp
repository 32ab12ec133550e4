// End to end, in one process over real sockets: POST /v1/responses through the gateway, to an
// upstream that serves the Responses API (`api: responses`: passed through with the gateway's cap
// in max_output_tokens) and to one that serves chat completions only (`api: chat`: translated
// there and back), whole and streamed. What is checked: the cap the upstream gets (the smaller of
// the client's and the gateway's), a capped answer coming back "incomplete" for
// "max_output_tokens", the usage the client is told equal to what the ledger settled, bad input
// refused with a 400 naming the field before anything is reserved, an upstream's 400 passed
// through with its param and the reservation released, and the replay upstream's chat endpoint
// behind the translation.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gateway_test_util.h"
#include "responses_upstream.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kResponses = "/v1/responses";

// The ResponsesUpstream as the rig's one upstream, serving `api`.
struct ResponsesRig {
  explicit ResponsesRig(UpstreamApi api)
      : rig({.configure = [this, api](GatewayConfig& c) {
          c.upstreams[0].base_url = upstream.base_url();
          c.upstreams[0].api = api;
        }}) {}

  [[nodiscard]] ResponsesUpstream::Received last_request() const {
    const auto all = upstream.requests();
    return all.empty() ? ResponsesUpstream::Received{} : all.back();
  }

  ResponsesUpstream upstream;  // before the rig: the rig's config names its port
  GatewayRig rig;
};

json responses_body(json extra = json::object()) {
  json body = {{"model", kModel}, {"input", "Count."}};
  body.update(extra);
  return body;
}

// The typed events of a stream (their data, each with its "type").
std::vector<json> typed_events(const StreamReply& r) {
  std::vector<json> out;
  for (const json& c : r.chunks()) {
    if (c.is_object() && c.contains("type")) out.push_back(c);
  }
  return out;
}

std::string output_text(const json& response) {
  std::string text;
  for (const json& item : response["output"]) {
    for (const json& part : item.value("content", json::array())) text += part.value("text", "");
  }
  return text;
}

class ResponsesE2e : public ::testing::TestWithParam<UpstreamApi> {};

TEST_P(ResponsesE2e, AWholeAnswerCarriesUsageEqualToTheLedger) {
  ResponsesRig h(GetParam());
  const Reply r = h.rig.post(kResponses, responses_body({{"reasoning", {{"effort", "low"}}},
                                                         {"temperature", 0.3},
                                                         {"vendor_extension", "kept"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json_body();
  EXPECT_EQ(body["object"], "response");
  EXPECT_EQ(body["status"], "completed");
  EXPECT_EQ(output_text(body), "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 ");
  EXPECT_EQ(body["usage"]["output_tokens"], ResponsesUpstream::kAnswerWords);
  EXPECT_EQ(body["usage"]["input_tokens"], ResponsesUpstream::kInputTokens);
  EXPECT_TRUE(body["usage"]["output_tokens_details"].contains("reasoning_tokens"));
  const auto record = h.rig.record(r);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->state, ledger::RequestState::kSettled);
  EXPECT_EQ(record->used_tokens, body["usage"]["output_tokens"].get<std::int64_t>());
  EXPECT_TRUE(h.rig.ledger_settled());

  const ResponsesUpstream::Received sent = h.last_request();
  EXPECT_EQ(sent.body["temperature"], 0.3);
  EXPECT_EQ(sent.body["vendor_extension"], "kept");
  if (GetParam() == UpstreamApi::kResponses) {
    EXPECT_EQ(sent.path, "/v1/responses");
    EXPECT_EQ(sent.body["max_output_tokens"], kGatewayCap);
    EXPECT_EQ(sent.body["reasoning"]["effort"], "low");
    EXPECT_EQ(sent.body["input"], "Count.");
  } else {
    EXPECT_EQ(sent.path, "/v1/chat/completions");
    EXPECT_EQ(sent.body["max_tokens"], kGatewayCap);
    EXPECT_EQ(sent.body["reasoning_effort"], "low");
    EXPECT_EQ(sent.body["messages"][0]["content"], "Count.");
    EXPECT_FALSE(sent.body.contains("max_output_tokens"));
  }
}

TEST_P(ResponsesE2e, ACappedAnswerIsIncompleteForMaxOutputTokens) {
  ResponsesRig h(GetParam());
  const Reply r = h.rig.post(kResponses, responses_body({{"max_output_tokens", 3}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json_body();
  EXPECT_EQ(body["status"], "incomplete");
  EXPECT_EQ(body["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(body["usage"]["output_tokens"], 3);
  EXPECT_EQ(h.rig.record(r)->used_tokens, 3);
  EXPECT_EQ(r.header("x-clearhouse-cap"), "3");
  const json sent = h.last_request().body;
  EXPECT_EQ(GetParam() == UpstreamApi::kResponses ? sent["max_output_tokens"] : sent["max_tokens"],
            3);
  EXPECT_TRUE(h.rig.ledger_settled());
}

TEST_P(ResponsesE2e, TheClientsCapNeverRaisesTheGateways) {
  ResponsesRig h(GetParam());
  const Reply r = h.rig.post(kResponses, responses_body({{"max_output_tokens", kGatewayCap * 10}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const json sent = h.last_request().body;
  EXPECT_EQ(GetParam() == UpstreamApi::kResponses ? sent["max_output_tokens"] : sent["max_tokens"],
            kGatewayCap);
}

TEST_P(ResponsesE2e, AStreamIsTypedEventsWithUsageEqualToTheLedger) {
  ResponsesRig h(GetParam());
  for (const std::int64_t cap : {kGatewayCap, std::int64_t{4}}) {
    const StreamReply r =
        h.rig.stream(kResponses, responses_body({{"stream", true}, {"max_output_tokens", cap}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("event: response.created\n"), std::string::npos) << r.body;
    const std::vector<json> events = typed_events(r);
    ASSERT_GE(events.size(), 2u) << r.body;
    EXPECT_EQ(events.front()["type"], "response.created");
    const bool capped = cap < ResponsesUpstream::kAnswerWords;
    const json& last = events.back();
    EXPECT_EQ(last["type"], capped ? "response.incomplete" : "response.completed") << r.body;
    if (capped) {
      EXPECT_EQ(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
    }
    std::string text;
    for (const json& e : events) {
      if (e["type"] == "response.output_text.delta") text += e["delta"].get<std::string>();
      EXPECT_NE(e["type"], "error") << r.body;
    }
    const std::int64_t words = std::min(cap, ResponsesUpstream::kAnswerWords);
    EXPECT_EQ(last["response"]["usage"]["output_tokens"], words);
    EXPECT_EQ(text.size(), static_cast<std::size_t>(words) * 3);  // "wN " per word
    EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);
    ASSERT_TRUE(eventually([&] { return h.rig.ledger_settled(); }));
    EXPECT_EQ(h.rig.record(r)->used_tokens, words);
  }
}

TEST_P(ResponsesE2e, BadInputIsA400NamingTheFieldAndReservesNothing) {
  ResponsesRig h(GetParam());
  const std::vector<std::pair<json, std::string>> cases = {
      {json{{"model", kModel}}, "input"},
      {responses_body({{"input", 5}}), "input"},
      {responses_body({{"input", {{{"type", "teleport"}}}}}), "input[0].type"},
      {responses_body({{"max_output_tokens", 0}}), "max_output_tokens"},
      {responses_body({{"max_output_tokens", -3}}), "max_output_tokens"},
      {responses_body({{"max_output_tokens", 2.5}}), "max_output_tokens"},
      {responses_body({{"reasoning", {{"effort", 1}}}}), "reasoning.effort"},
  };
  for (const auto& [body, param] : cases) {
    const Reply r = h.rig.post(kResponses, body);
    EXPECT_EQ(r.status, 400) << body.dump();
    EXPECT_TRUE(is_openai_error(r.body)) << r.body;
    EXPECT_EQ(r.json_body()["error"]["param"], param) << r.body;
  }
  EXPECT_EQ(h.rig.requests_recorded(), 0);
  EXPECT_TRUE(h.upstream.requests().empty());
  EXPECT_TRUE(h.rig.ledger_settled());
}

TEST_P(ResponsesE2e, AnEffortTheUpstreamRefusesIsItsOwn400WithTheReservationReleased) {
  ResponsesRig h(GetParam());
  const Reply r = h.rig.post(kResponses, responses_body({{"reasoning", {{"effort", "extreme"}}}}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(is_openai_error(r.body)) << r.body;
  EXPECT_EQ(r.json_body()["error"]["param"], "reasoning.effort") << r.body;
  const auto record = h.rig.record(r);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->used_tokens, 0);
  EXPECT_TRUE(h.rig.ledger_settled());
  EXPECT_EQ(h.rig.spent(), 0);
}

INSTANTIATE_TEST_SUITE_P(Api, ResponsesE2e,
                         ::testing::Values(UpstreamApi::kResponses, UpstreamApi::kChat),
                         [](const auto& api_param) {
                           return api_param.param == UpstreamApi::kResponses
                                      ? std::string("Responses")
                                      : std::string("Chat");
                         });

TEST(ResponsesE2eChat, WhatChatCannotExpressIsRefusedBeforeAnythingIsReserved) {
  ResponsesRig h(UpstreamApi::kChat);
  const Reply tools =
      h.rig.post(kResponses, responses_body({{"tools", {{{"type", "web_search"}}}}}));
  EXPECT_EQ(tools.status, 400);
  EXPECT_EQ(tools.json_body()["error"]["param"], "tools") << tools.body;
  const Reply item = h.rig.post(
      kResponses,
      responses_body(
          {{"input", {{{"type", "function_call_output"}, {"call_id", "c"}, {"output", "1"}}}}}));
  EXPECT_EQ(item.status, 400);
  EXPECT_EQ(item.json_body()["error"]["param"], "input[0].type") << item.body;
  EXPECT_EQ(h.rig.requests_recorded(), 0);
  EXPECT_TRUE(h.upstream.requests().empty());

  // The same requests reach an upstream that serves the Responses API.
  ResponsesRig passing(UpstreamApi::kResponses);
  EXPECT_EQ(
      passing.rig.post(kResponses, responses_body({{"tools", {{{"type", "web_search"}}}}})).status,
      200);
}

// The replay upstream (recorded answers, chat completions) behind the translation.
TEST(ResponsesE2eReplay, ARecordedAnswerCappedIsIncomplete) {
  GatewayRig rig;
  const tools::RecordedOutput& answer = long_answer();
  const json body = {{"model", kModel},
                     {"input", {{{"role", "user"}, {"content", answer.question}}}},
                     {"max_output_tokens", 50},
                     {"metadata", {{"qid", answer.dataset + "/" + answer.qid}}}};
  const Reply whole = rig.post(kResponses, body);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(whole.json_body()["status"], "incomplete");
  EXPECT_EQ(whole.json_body()["incomplete_details"]["reason"], "max_output_tokens");
  EXPECT_EQ(whole.json_body()["usage"]["output_tokens"], 50);
  EXPECT_EQ(rig.record(whole)->used_tokens, 50);

  json streamed = body;
  streamed["stream"] = true;
  const StreamReply s = rig.stream(kResponses, streamed);
  ASSERT_EQ(s.status, 200);
  const std::vector<json> events = typed_events(s);
  ASSERT_FALSE(events.empty()) << s.body;
  EXPECT_EQ(events.back()["type"], "response.incomplete") << s.body;
  EXPECT_EQ(events.back()["response"]["usage"]["output_tokens"], 50);
  ASSERT_TRUE(eventually([&] { return rig.ledger_settled(); }));
  EXPECT_EQ(rig.record(s)->used_tokens, 50);
}

}  // namespace
}  // namespace clearhouse::gateway::testing
