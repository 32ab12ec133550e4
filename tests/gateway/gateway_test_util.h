// A whole gateway in one test process, over real sockets on 127.0.0.1 with port 0: a ReplayUpstream
// (recorded answers from data/) on one HttpServer, a Ledger on a temp file, a Gateway built from a
// GatewayConfig filled in code, served by a second HttpServer (both servers from
// gateway_servers.h), and an httplib client. Shared by the gateway_e2e_*_test.cpp files; waits use
// the one `eventually` (support/eventually.h).
//
// Time: the ledger and the pacer read a ManualClock that stands still unless a test moves it (so
// the pacer's caps are reproducible); the replay paces streams and delays on an
// InstantPacingClock unless a test asks for real time (timeouts, a client leaving a slow stream).
// Synchronisation is on responses and on polled conditions with deadlines, never on sleeps.
//
//   GatewayRig rig;                                   // or GatewayRig({.configure = ...})
//   const Reply r = rig.post("/v1/chat/completions", chat_body(long_answer()));
//   EXPECT_EQ(r.status, 200);
//   EXPECT_TRUE(rig.ledger_settled());
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "gateway/api_keys.h"
#include "gateway/gateway.h"
#include "gateway/gateway_config.h"
#include "gateway_servers.h"
#include "http/server.h"
#include "http/sse.h"
#include "ledger/ledger.h"
#include "support/eventually.h"
#include "support/run_binary.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::gateway::testing {

using nlohmann::json;

inline constexpr const char* kModel = "Qwen2-7B-Instruct";  // the model recorded in data/
inline constexpr const char* kUpstreamName = "replay";
// Client secrets: alice has no budget of her own, bob has kBobBudget tokens per window.
inline constexpr const char* kAliceKey = "ch-e2e-alice-0123456789abcdef";
inline constexpr const char* kBobKey = "ch-e2e-bob-0123456789abcdef";
inline constexpr const char* kAdminKey = "ch-e2e-admin-0123456789abcdef";
inline constexpr const char* kUpstreamApiKey = "sk-e2e-upstream-secret-0123456789";
inline constexpr std::int64_t kBobBudget = 40;
// The gateway's largest cap (pacer.max_tokens): with the default budget every request is funded at
// it.
inline constexpr std::int64_t kGatewayCap = 200;
inline constexpr std::int64_t kDefaultBudget = 10'000'000;
inline constexpr std::int64_t kClockStartMs = 1'700'000'000'000;

// The recorded answers of data/, loaded once for the whole test binary (immutable, shareable).
inline std::shared_ptr<const tools::ReplayStore> shared_store() {
  static const auto store = std::make_shared<const tools::ReplayStore>(
      tools::ReplayStore::load(std::string(CLEARHOUSE_SOURCE_DIR) + "/data"));
  return store;
}

// The first recorded answer of kModel with a known question and at least min_tokens tokens, so that
// every cap below min_tokens cuts it (usage.completion_tokens == cap).
inline const tools::RecordedOutput& long_answer(std::int64_t min_tokens = 400) {
  for (const tools::RecordedOutput& r : shared_store()->records()) {
    if (r.model == kModel && !r.question.empty() && r.output_tokens >= min_tokens) return r;
  }
  throw std::runtime_error("data/ has no answer that long");
}

// A chat request for a recorded question (named by qid too, so the replay's match is exact).
inline json chat_body(const tools::RecordedOutput& answer, json extra = json::object()) {
  json body = {{"model", kModel},
               {"messages", {{{"role", "user"}, {"content", answer.question}}}},
               {"metadata", {{"qid", answer.dataset + "/" + answer.qid}}}};
  body.update(extra);
  return body;
}

inline json completion_body(const tools::RecordedOutput& answer, json extra = json::object()) {
  json body = {{"model", kModel},
               {"prompt", answer.question},
               {"metadata", {{"qid", answer.dataset + "/" + answer.qid}}}};
  body.update(extra);
  return body;
}

// A body that asks the replay upstream for a fault (replay_upstream_fault.h); the gateway passes
// the body through.
inline json with_fault(json body, const std::string& fault) {
  body["metadata"]["replay_fault"] = fault;
  return body;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound to pick it, then closed).
inline int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot pick a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

using clearhouse::testing::eventually;  // support/eventually.h

// A whole response.
struct Reply {
  int status = 0;  // 0 when no response arrived
  httplib::Error error = httplib::Error::Success;
  httplib::Headers headers;
  std::string body;

  [[nodiscard]] std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  [[nodiscard]] json json_body() const { return json::parse(body, nullptr, false); }
};

// A streamed response: the status and headers, the raw bytes, and the SSE payloads in order.
struct StreamReply : Reply {
  std::vector<std::string> payloads;

  [[nodiscard]] bool ends_with_done() const {
    return !payloads.empty() && payloads.back() == http::kSseDonePayload;
  }
  [[nodiscard]] std::vector<json> chunks() const {  // JSON payloads ([DONE] left out)
    std::vector<json> out;
    for (const auto& p : payloads) {
      if (p != http::kSseDonePayload) out.push_back(json::parse(p, nullptr, false));
    }
    return out;
  }
  // Chunks carrying generated text (one token each, as the replay streams), and that text.
  [[nodiscard]] std::int64_t content_chunks() const {
    std::int64_t n = 0;
    for (const json& c : chunks()) n += chunk_text(c).empty() ? 0 : 1;
    return n;
  }
  [[nodiscard]] std::string content() const {
    std::string text;
    for (const json& c : chunks()) text += chunk_text(c);
    return text;
  }
  // The usage a chunk reported (non-null), if any.
  [[nodiscard]] std::optional<json> usage() const {
    for (const json& c : chunks()) {
      if (c.is_object() && c.contains("usage") && c["usage"].is_object()) return c["usage"];
    }
    return std::nullopt;
  }
  [[nodiscard]] bool has_error_event() const {
    for (const json& c : chunks()) {
      if (c.is_object() && c.contains("error")) return true;
    }
    return false;
  }

  static std::string chunk_text(const json& c) {
    if (!c.is_object() || !c.contains("choices") || !c["choices"].is_array() ||
        c["choices"].empty()) {
      return {};
    }
    const json& choice = c["choices"][0];
    if (choice.contains("delta") && choice["delta"].contains("content") &&
        choice["delta"]["content"].is_string()) {
      return choice["delta"]["content"].get<std::string>();
    }
    if (choice.contains("text") && choice["text"].is_string())
      return choice["text"].get<std::string>();
    return {};
  }
};

// True when `body` is an OpenAI error body {"error": {"message", "type", "param", "code"}} with a
// non-empty message and type, and (when given) this code.
inline ::testing::AssertionResult is_openai_error(const std::string& body,
                                                  std::optional<std::string> code = std::nullopt) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return ::testing::AssertionFailure() << "not an error body: " << body;
  }
  const json& e = j["error"];
  for (const char* field : {"message", "type", "param", "code"}) {
    if (!e.contains(field))
      return ::testing::AssertionFailure() << "no error." << field << ": " << body;
  }
  if (!e["message"].is_string() || e["message"].get<std::string>().empty() ||
      !e["type"].is_string() || e["type"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "empty message or type: " << body;
  }
  if (!(e["param"].is_null() || e["param"].is_string()) ||
      !(e["code"].is_null() || e["code"].is_string())) {
    return ::testing::AssertionFailure() << "param/code neither string nor null: " << body;
  }
  if (code && e["code"] != *code) {
    return ::testing::AssertionFailure() << "code is " << e["code"] << ", expected " << *code;
  }
  return ::testing::AssertionSuccess();
}

// The value of one Prometheus sample line `name{labels} value` (labels exactly as rendered, e.g.
// R"(route="chat_completions",code="200")"); nullopt when the series is absent.
inline std::optional<double> metric_value(const std::string& text, const std::string& name,
                                          const std::string& labels = {}) {
  const std::string prefix = labels.empty() ? name + " " : name + "{" + labels + "} ";
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    if (text.compare(at, prefix.size(), prefix) == 0) {
      return std::stod(text.substr(at + prefix.size(), end - at - prefix.size()));
    }
    at = end + 1;
  }
  return std::nullopt;
}

struct RigOptions {
  // Adjusts the config (budget, keys, limits, timeouts, ...) before the gateway is built.
  std::function<void(GatewayConfig&)> configure;
  double tokens_per_second = 0;  // the replay's stream pacing
  bool real_time = false;        // pace and delay on the steady clock (else instantly)
  bool upstream_down = false;    // the upstream's base_url names a port nothing listens on
};

class GatewayRig {
 public:
  explicit GatewayRig(RigOptions options = {}) : clock_(kClockStartMs) {
    std::signal(SIGPIPE, SIG_IGN);  // a peer closing a socket must not kill the test process
    const std::filesystem::path dir = clearhouse::testing::scratch_dir("gateway-e2e");

    tools::ReplayUpstreamOptions replay_options;
    replay_options.tokens_per_second = options.tokens_per_second;
    std::shared_ptr<tools::PacingClock> pacing;
    if (options.real_time) {
      pacing = std::make_shared<tools::SteadyPacingClock>();
    } else {
      pacing = std::make_shared<tools::InstantPacingClock>();
    }
    replay_ = std::make_unique<ReplayServer>(shared_store(), replay_options, std::move(pacing));

    config_ =
        default_config(options.upstream_down ? unused_port() : replay_->port(), dir / "ledger.db");
    if (options.configure) options.configure(config_);

    ledger_ = std::make_unique<ledger::Ledger>(ledger::Ledger::open(config_.ledger_path, clock_));
    gateway_ =
        std::make_unique<GatewayServer>(front_door_options(config_), config_, *ledger_, clock_);
  }

  ~GatewayRig() {
    replay_->upstream().shutdown();  // delays and paced streams end at once
    gateway_.reset();
    replay_.reset();
  }

  GatewayRig(const GatewayRig&) = delete;
  GatewayRig& operator=(const GatewayRig&) = delete;

  // The config every test starts from: a large budget (every request funded at kGatewayCap), keys
  // alice and bob, an admin key, and the replay as the one upstream.
  static GatewayConfig default_config(int upstream_port, const std::filesystem::path& ledger_path) {
    GatewayConfig c;
    c.source = "gateway_e2e_test";
    c.listen_port = 0;
    c.ledger_path = ledger_path.string();
    c.budget_tokens = kDefaultBudget;
    c.window_seconds = 3600;
    c.pacer.max_tokens = kGatewayCap;
    UpstreamConfig u;
    u.name = kUpstreamName;
    u.base_url = "http://127.0.0.1:" + std::to_string(upstream_port);
    u.model = kModel;
    u.price_per_mtok = 1.0;
    u.api_key = kUpstreamApiKey;
    u.connect_timeout_seconds = 2.0;
    u.read_timeout_seconds = 20.0;
    u.total_timeout_seconds = 60.0;
    c.upstreams = {u};
    c.keys = {{"alice", sha256_hex(kAliceKey), std::nullopt},
              {"bob", sha256_hex(kBobKey), kBobBudget}};
    c.admin_key_sha256 = sha256_hex(kAdminKey);
    return c;
  }

  // key: sent as "Authorization: Bearer KEY" unless empty.
  [[nodiscard]] Reply request(const std::string& method, const std::string& path, std::string body,
                              const std::string& key = kAliceKey,
                              const httplib::Headers& headers = {}) const {
    httplib::Client client("127.0.0.1", port());
    client.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
    if (!body.empty()) req.headers.emplace("Content-Type", "application/json");
    req.body = std::move(body);
    Reply reply;
    const httplib::Result res = client.send(req);
    reply.error = res.error();
    if (res) {
      reply.status = res->status;
      reply.headers = res->headers;
      reply.body = res->body;
    }
    return reply;
  }

  [[nodiscard]] Reply post(const std::string& path, const json& body,
                           const std::string& key = kAliceKey) const {
    return request("POST", path, body.dump(), key);
  }
  [[nodiscard]] Reply get(const std::string& path, const std::string& key = kAliceKey) const {
    return request("GET", path, {}, key);
  }

  // POSTs a streaming request and reads the body as it arrives, also when the connection drops.
  [[nodiscard]] StreamReply stream(const std::string& path, const json& body,
                                   const std::string& key = kAliceKey) const {
    httplib::Client client("127.0.0.1", port());
    client.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
    req.headers.emplace("Content-Type", "application/json");
    req.body = body.dump();
    StreamReply reply;
    http::SseParser parser;
    req.response_handler = [&](const httplib::Response& head) {
      reply.status = head.status;
      reply.headers = head.headers;
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      reply.body.append(data, n);
      for (auto& p : parser.feed(std::string_view(data, n))) reply.payloads.push_back(std::move(p));
      return true;
    };
    reply.error = client.send(req).error();
    return reply;
  }

  // The ledger's record of the request a reply answered (by its x-clearhouse-request-id).
  [[nodiscard]] std::optional<ledger::RequestRecord> record(const Reply& reply) const {
    const std::string id = reply.header("x-clearhouse-request-id");
    if (id.empty()) return std::nullopt;
    return ledger_->find(id);
  }

  // Nothing reserved in the window and every request closed.
  [[nodiscard]] ::testing::AssertionResult ledger_settled() const {
    const ledger::WindowTotals w = ledger_->window_totals();
    if (w.reserved_tokens != 0) {
      return ::testing::AssertionFailure() << w.reserved_tokens << " tokens still reserved";
    }
    std::vector<std::string> open;
    ledger_->for_each_request([&](const ledger::RequestRecord& r) {
      if (r.state == ledger::RequestState::kOpen) open.push_back(r.request_id);
    });
    if (!open.empty())
      return ::testing::AssertionFailure() << open.size() << " requests still open";
    return ::testing::AssertionSuccess();
  }
  [[nodiscard]] std::int64_t spent() const { return ledger_->window_totals().spent_tokens; }
  [[nodiscard]] std::int64_t requests_recorded() const {
    return ledger_->totals().overall.requests;
  }

  [[nodiscard]] ledger::Ledger& ledger() { return *ledger_; }
  [[nodiscard]] base::ManualClock& clock() { return clock_; }
  [[nodiscard]] Gateway& gateway() { return gateway_->gateway(); }
  [[nodiscard]] const GatewayConfig& config() const { return config_; }
  [[nodiscard]] int port() const { return gateway_->port(); }
  [[nodiscard]] int upstream_port() const { return replay_->port(); }

 private:
  base::ManualClock clock_;
  std::unique_ptr<ReplayServer> replay_;
  GatewayConfig config_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<GatewayServer> gateway_;
};

}  // namespace clearhouse::gateway::testing
