// The gateway at the edge of its budget, over real sockets in one process: a ReplayUpstream
// (instant pacing) and a Gateway, each on an HttpServer on port 0, and 1,000 requests from 40
// client threads: chat completions whole and streamed (with and without usage), and Responses API
// requests whole and streamed (translated to chat for the replay, which serves chat completions),
// asking together for about 1.35 times the budget. A watcher thread samples the ledger while the
// load runs. A second test pins the ordering the crash test relies on: a stream is settled before
// its client sees [DONE].
//
// What would break these assertions: a reserve that does not check the budget atomically (spent +
// reserved above the budget), a path that forgets to settle (open reservations afterwards), a
// settle with other than the upstream's usage (clients' tokens != ledger spent), a response that is
// neither a 200 nor an OpenAI-shaped 429.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "gateway_servers.h"
#include "http/server.h"
#include "http/sse.h"
#include "ledger/ledger.h"
#include "support/run_binary.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

constexpr int kThreads = 40;
constexpr int kRequestsPerThread = 25;
constexpr int kRequests = kThreads * kRequestsPerThread;  // 1,000
constexpr std::int64_t kClientCap = 16;
// The recorded answer to kQuestion is 10 tokens (60% of the cap); unknown prompts get lorem ipsum
// longer than the cap, so they use all of it.
constexpr std::int64_t kBudget = kRequests * kClientCap * 6 / 10;  // 9,600 tokens

// The replay upstream and the gateway, both listening on 127.0.0.1 with port 0.
class Stack {
 public:
  explicit Stack(const std::string& dir, std::int64_t budget = kBudget)
      : replay_(tools::testing::tiny_store(), {}, std::make_shared<tools::InstantPacingClock>()),
        ledger_(ledger::Ledger::open(dir + "/ledger.db", clock_)) {
    const int replay_port = replay_.port();
    // Uniform caps under an all-time budget without a plan line: the pacer offers max_tokens, so
    // caps are set by the client (16) until the budget runs out, and requests race for the last
    // tokens.
    const std::string yaml =
        "listen: 127.0.0.1:0\n"
        "ledger: ledger.db\n"
        "budget: {completion_tokens: " +
        std::to_string(budget) +
        ", window_seconds: 0}\n"
        "policy: uniform\n"
        "pacer: {max_tokens: 64}\n"
        "upstreams:\n"
        "  - {name: replay, base_url: \"http://127.0.0.1:" +
        std::to_string(replay_port) + "\", model: model-a}\n";
    GatewayConfig config = parse_gateway_config(yaml, dir + "/gateway.yaml",
                                                [](const std::string&) { return std::nullopt; });
    gateway_ = std::make_unique<testing::GatewayServer>(
        http::HttpServerOptions{.host = "127.0.0.1", .port = 0}, std::move(config), ledger_,
        clock_);
  }

  [[nodiscard]] int port() const { return gateway_->port(); }
  [[nodiscard]] const ledger::Ledger& ledger() const { return ledger_; }
  [[nodiscard]] Gateway& gateway() { return gateway_->gateway(); }

 private:
  base::SystemClock clock_;
  testing::ReplayServer replay_;
  ledger::Ledger ledger_;
  std::unique_ptr<testing::GatewayServer> gateway_;  // destroyed first: the replay outlives it
};

enum class Kind {
  kWhole,
  kStreamWithUsage,
  kStreamWithoutUsage,
  kResponsesWhole,  // POST /v1/responses
  kResponsesStream,
};
constexpr int kKinds = 5;

// What one client saw of one response.
struct Outcome {
  int status = 0;
  std::string request_id;
  std::int64_t tokens = 0;  // completion tokens the client received (200 only)
  std::string problem;      // why the response is malformed, "" when it is fine
};

Outcome failed(Outcome out, std::string problem) {
  out.problem = std::move(problem);
  return out;
}

// The completion tokens a client received, from the body it got; sets `problem` when the body is
// not a well-formed answer.
// The output tokens a Responses client was told: usage.output_tokens of the whole answer, or of
// the response.completed / response.incomplete event that ends the stream.
Outcome read_responses_answer(Kind kind, const std::string& body, Outcome out) {
  if (kind == Kind::kResponsesWhole) {
    const json b = json::parse(body, nullptr, false);
    if (!b.is_object() || !b.contains("usage") || b.value("object", "") != "response") {
      return failed(std::move(out), "not a response with usage: " + body);
    }
    out.tokens = b["usage"]["output_tokens"].get<std::int64_t>();
    return out;
  }
  std::optional<std::int64_t> usage;
  for (const std::string& p : http::parse_sse(body)) {
    const json event = json::parse(p, nullptr, false);
    const std::string type = event.is_object() ? event.value("type", "") : "";
    if (type == "error") return failed(std::move(out), "error event: " + p);
    if (type == "response.completed" || type == "response.incomplete") {
      usage = event["response"]["usage"]["output_tokens"].get<std::int64_t>();
    }
  }
  if (!usage) return failed(std::move(out), "stream without its final event: " + body);
  out.tokens = *usage;
  return out;
}

Outcome read_answer(Kind kind, const std::string& body, Outcome out) {
  if (kind == Kind::kResponsesWhole || kind == Kind::kResponsesStream) {
    return read_responses_answer(kind, body, std::move(out));
  }
  if (kind == Kind::kWhole) {
    const json b = json::parse(body, nullptr, false);
    if (!b.is_object() || !b.contains("usage")) return failed(std::move(out), "no usage: " + body);
    out.tokens = b["usage"]["completion_tokens"].get<std::int64_t>();
    return out;
  }
  const std::vector<std::string> payloads = http::parse_sse(body);
  if (payloads.empty() || payloads.back() != http::kSseDonePayload) {
    return failed(std::move(out), "stream without [DONE]: " + body);
  }
  std::int64_t content_chunks = 0;
  std::optional<std::int64_t> usage;
  for (const std::string& p : payloads) {
    if (p == http::kSseDonePayload) continue;
    const json chunk = json::parse(p);
    if (chunk.contains("error")) return failed(std::move(out), "error event: " + p);
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      usage = chunk["usage"]["completion_tokens"].get<std::int64_t>();
    }
    if (!chunk["choices"].empty() && !chunk["choices"][0]["delta"].value("content", "").empty()) {
      ++content_chunks;
    }
  }
  if (kind == Kind::kStreamWithUsage) {
    if (!usage) return failed(std::move(out), "no usage chunk: " + body);
    out.tokens = *usage;
  } else {
    if (usage) return failed(std::move(out), "usage the client did not ask for: " + body);
    out.tokens = content_chunks;  // the replay upstream sends one chunk per token
  }
  return out;
}

Outcome send(httplib::Client& client, Kind kind, const std::string& prompt) {
  const bool responses = kind == Kind::kResponsesWhole || kind == Kind::kResponsesStream;
  json body = responses
                  ? json{{"model", "model-a"}, {"input", prompt}, {"max_output_tokens", kClientCap}}
                  : tools::testing::chat_body(prompt, {{"max_tokens", kClientCap}});
  if (kind != Kind::kWhole && kind != Kind::kResponsesWhole) body["stream"] = true;
  if (kind == Kind::kStreamWithUsage) body["stream_options"] = {{"include_usage", true}};
  const httplib::Result res = client.Post(responses ? "/v1/responses" : "/v1/chat/completions",
                                          body.dump(), "application/json");
  Outcome out;
  if (!res) return failed(std::move(out), "transport error " + httplib::to_string(res.error()));
  out.status = res->status;
  out.request_id = res->get_header_value("x-clearhouse-request-id");
  if (res->status == 200) return read_answer(kind, res->body, out);
  if (res->status != 429) return failed(std::move(out), "unexpected status: " + res->body);
  const json b = json::parse(res->body, nullptr, false);
  const bool openai_error = b.is_object() && b.contains("error") && b["error"].is_object() &&
                            b["error"]["message"].is_string() && b["error"]["type"].is_string();
  if (!openai_error)
    return failed(std::move(out), "429 without an OpenAI error body: " + res->body);
  if (!res->has_header("Retry-After")) return failed(std::move(out), "429 without Retry-After");
  return out;
}

TEST(GatewayConcurrency, AThousandRequestsAtTheEdgeOfTheBudgetNeverOverspend) {
  const std::string dir = clearhouse::testing::scratch_dir().string();
  Stack stack(dir);

  std::atomic<bool> load_done{false};
  std::int64_t most_charged = 0;  // the largest spent + reserved the watcher saw
  std::int64_t samples = 0;
  std::thread watcher([&] {
    while (!load_done.load()) {
      const ledger::WindowTotals w = stack.ledger().window_totals();
      most_charged = std::max(most_charged, w.spent_tokens + w.reserved_tokens);
      ++samples;
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // leave the ledger to the load
    }
  });

  std::mutex results_mutex;
  std::vector<Outcome> results;
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(1000 + t));  // seeded: the same mix every run
      httplib::Client client("127.0.0.1", stack.port());
      client.set_keep_alive(true);
      client.set_read_timeout(60, 0);
      std::vector<Outcome> mine;
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const auto kind = static_cast<Kind>(rng() % kKinds);
        const bool short_answer = rng() % 2 == 0;
        mine.push_back(
            send(client, kind, short_answer ? tools::testing::kQuestion : "Tell me a story."));
      }
      std::lock_guard lock(results_mutex);
      results.insert(results.end(), mine.begin(), mine.end());
    });
  }
  for (auto& c : clients) c.join();
  // A stream's last bytes reach the client just before its producer returns: wait for every request
  // to leave the gateway before reading the ledger's final state.
  ASSERT_TRUE(stack.gateway().wait_idle(std::chrono::seconds(60)));
  load_done = true;
  watcher.join();

  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequests));
  int ok = 0;
  int rejected = 0;
  std::int64_t client_tokens = 0;
  for (const Outcome& r : results) {
    EXPECT_EQ(r.problem, "") << "status " << r.status;
    if (r.status == 200) {
      ++ok;
      client_tokens += r.tokens;
      const auto record = stack.ledger().find(r.request_id);
      ASSERT_TRUE(record.has_value()) << r.request_id;
      EXPECT_EQ(record->state, ledger::RequestState::kSettled) << r.request_id;
      EXPECT_EQ(record->used_tokens, r.tokens) << r.request_id;
    } else if (r.status == 429) {
      ++rejected;
    }
  }
  EXPECT_EQ(ok + rejected, kRequests);
  EXPECT_GT(ok, 0);
  EXPECT_GT(rejected, 0);

  EXPECT_GT(samples, 0);
  EXPECT_LE(most_charged, kBudget);
  const ledger::LedgerTotals totals = stack.ledger().totals();
  EXPECT_EQ(totals.overall.open_requests, 0);
  EXPECT_EQ(totals.overall.reserved_tokens, 0);
  EXPECT_EQ(totals.overall.requests, ok);  // a 429 reserves nothing
  EXPECT_EQ(totals.overall.spent_tokens, client_tokens);
  EXPECT_LE(totals.overall.spent_tokens, kBudget);
  // The load asked for more than the budget: it was used up to within a few caps.
  EXPECT_GE(totals.overall.spent_tokens, kBudget - kThreads * kClientCap);
  std::cout << "[          ] " << ok << " answered, " << rejected << " rejected; spent "
            << totals.overall.spent_tokens << " of " << kBudget << " tokens; " << samples
            << " ledger samples, at most " << most_charged << " charged\n";
}

// Captures a stream and, when [DONE] is written, what the ledger holds for the request at that
// moment.
class LedgerAtDoneWriter : public http::BodyWriter {
 public:
  LedgerAtDoneWriter(const ledger::Ledger& ledger, std::string request_id)
      : ledger_(ledger), request_id_(std::move(request_id)) {}
  bool write(std::string_view data) override {
    if (data.find(http::kSseDone) != std::string_view::npos) at_done = ledger_.find(request_id_);
    body += data;
    return true;
  }
  std::string body;
  std::optional<ledger::RequestRecord> at_done;

 private:
  const ledger::Ledger& ledger_;
  std::string request_id_;
};

// The crash test's premise, made deterministic: a client that holds a stream's [DONE] has been
// charged, so a gateway killed right after cannot count it again at its full cap.
TEST(GatewayConcurrency, AStreamIsSettledBeforeItsClientSeesDone) {
  Stack stack(clearhouse::testing::scratch_dir().string(), 1'000'000);
  for (const Kind kind : {Kind::kStreamWithUsage, Kind::kStreamWithoutUsage}) {
    json body = tools::testing::chat_body("Tell me a story.",
                                          {{"max_tokens", kClientCap}, {"stream", true}});
    if (kind == Kind::kStreamWithUsage) body["stream_options"] = {{"include_usage", true}};
    const http::HttpResponse response =
        stack.gateway().handle(http::HttpRequest{"POST", "/v1/chat/completions", {}, body.dump()});
    ASSERT_EQ(response.status, 200) << response.body;
    ASSERT_TRUE(response.stream);
    LedgerAtDoneWriter writer(stack.ledger(),
                              tools::testing::header_of(response, "x-clearhouse-request-id"));
    EXPECT_TRUE(response.stream(writer));
    Outcome ok;
    ok.status = 200;
    const Outcome seen = read_answer(kind, writer.body, ok);
    EXPECT_EQ(seen.problem, "");
    ASSERT_TRUE(writer.at_done.has_value());
    EXPECT_EQ(writer.at_done->state, ledger::RequestState::kSettled);
    EXPECT_EQ(writer.at_done->used_tokens, seen.tokens);
    EXPECT_EQ(seen.tokens, kClientCap);
  }
}

}  // namespace
}  // namespace clearhouse::gateway
