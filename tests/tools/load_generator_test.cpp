// LoadGenerator against an in-process replay upstream on 127.0.0.1, port 0, whose streams run on an
// instant pacing clock (no real waits). Counts and outcomes are asserted exactly; timings only
// where they are bounded by construction (an open-loop request is never sent before it is due).
#include "tools/load_generator.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "http/server.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_test_util.h"

namespace clearhouse::tools {
namespace {

using nlohmann::json;
using testing::chat_body;
using testing::kQuestion;
using testing::tiny_store;

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ReplayUpstreamOptions replay;
    replay.tokens_per_second = 5;
    upstream_ = std::make_unique<ReplayUpstream>(tiny_store(), replay,
                                                 std::make_shared<InstantPacingClock>());
    http::HttpServerOptions http;
    http.host = "127.0.0.1";
    http.port = 0;
    server_ = std::make_unique<http::HttpServer>(
        http, [this](const http::HttpRequest& r) { return upstream_->handle(r); });
    port_ = server_->bind();
    server_->start();
  }

  [[nodiscard]] LoadOptions options(json body) const {
    LoadOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port_);
    o.body = body.dump();
    o.timeout_seconds = 30;
    return o;
  }

  std::unique_ptr<ReplayUpstream> upstream_;
  std::unique_ptr<http::HttpServer> server_;
  int port_ = 0;
};

TEST(LoadGeneratorSummaryTest, PercentilesAreNearestRank) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  const LatencySummary s = summarize_latencies(samples);
  EXPECT_EQ(s.count, 100);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p90_ms, 90);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.p999_ms, 100);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_DOUBLE_EQ(s.mean_ms, 50.5);

  std::vector<double> none;
  EXPECT_EQ(summarize_latencies(none).count, 0);
  EXPECT_DOUBLE_EQ(summarize_latencies(none).p99_ms, 0);
}

TEST_F(LoadGeneratorTest, ClosedLoopSendsExactlyTheRequestedCount) {
  LoadOptions o = options(chat_body(kQuestion, {{"max_tokens", 4}}));
  o.connections = 4;
  o.requests = 40;
  const LoadReport r = run_load(o);
  EXPECT_EQ(r.sent, 40);
  EXPECT_EQ(r.ok, 40);
  EXPECT_EQ(r.outcomes, (std::map<std::string, std::int64_t>{{"200", 40}}));
  EXPECT_EQ(r.latency.count, 40);
  EXPECT_LE(r.latency.p50_ms, r.latency.p99_ms);
  EXPECT_LE(r.latency.p99_ms, r.latency.max_ms);
  EXPECT_LE(r.first_byte.max_ms, r.latency.max_ms);
  EXPECT_GE(r.peak_in_flight, 1);
  EXPECT_LE(r.peak_in_flight, 4);
  EXPECT_GT(r.response_bytes, 40 * 10);
  EXPECT_EQ(r.send_lag.count, 0);  // closed loop: nothing is due
}

TEST_F(LoadGeneratorTest, OpenLoopNeverSendsBeforeRequestsAreDue) {
  LoadOptions o = options(chat_body(kQuestion, {{"max_tokens", 2}}));
  o.rate = 200;  // request i due at i * 5 ms: the 20th at 95 ms after the first
  o.requests = 20;
  o.connections = 2;
  // On an injected clock: a wait moves it to the request's due time, so a request sent before it
  // was due would end the run before 95 ms had passed on it.
  o.clock = std::make_shared<InstantPacingClock>();
  const LoadReport r = run_load(o);
  EXPECT_EQ(r.ok, 20);
  EXPECT_EQ(r.send_lag.count, 20);
  EXPECT_GE(r.seconds, 0.095);
}

TEST_F(LoadGeneratorTest, WarmupRequestsAreNotMeasured) {
  LoadOptions o = options(chat_body(kQuestion, {{"max_tokens", 2}}));
  o.rate = 400;
  o.warmup_seconds = 0.05;  // 20 requests of warm-up
  o.requests = 10;
  o.connections = 2;
  const LoadReport r = run_load(o);
  EXPECT_EQ(r.sent, 10);
  EXPECT_EQ(r.ok, 10);
}

TEST_F(LoadGeneratorTest, StreamsNeedDoneAndAreHeldOpenTogether) {
  LoadOptions o = options(chat_body(kQuestion, {{"max_tokens", 6}, {"stream", true}}));
  o.stream = true;
  o.requests = 8;
  o.connections = 8;
  const LoadReport r = run_load(o);
  EXPECT_EQ(r.ok, 8);
  EXPECT_EQ(r.outcomes, (std::map<std::string, std::int64_t>{{"200", 8}}));
  EXPECT_EQ(r.first_byte.count, 8);
  EXPECT_LE(r.first_byte.p50_ms, r.latency.p50_ms);

  // A stream cut before [DONE] answered 200 but failed.
  LoadOptions cut = options(chat_body(
      kQuestion,
      {{"max_tokens", 6}, {"stream", true}, {"metadata", {{"replay_fault", "close-after=2"}}}}));
  cut.stream = true;
  cut.requests = 3;
  cut.connections = 1;
  const LoadReport c = run_load(cut);
  EXPECT_EQ(c.ok, 0);
  EXPECT_EQ(c.latency.count, 0);
  std::int64_t failed = 0;
  for (const auto& [outcome, n] : c.outcomes) {
    EXPECT_TRUE(outcome == "no_done" || outcome == "closed") << outcome;
    failed += n;
  }
  EXPECT_EQ(failed, 3);
}

TEST_F(LoadGeneratorTest, ErrorStatusesAreCountedNotMeasured) {
  LoadOptions o = options(chat_body(kQuestion, {{"metadata", {{"replay_fault", "status=503"}}}}));
  o.requests = 5;
  o.connections = 1;
  const LoadReport r = run_load(o);
  EXPECT_EQ(r.sent, 5);
  EXPECT_EQ(r.ok, 0);
  EXPECT_EQ(r.outcomes, (std::map<std::string, std::int64_t>{{"503", 5}}));
  EXPECT_EQ(r.latency.count, 0);
  const json j = to_json(r);
  EXPECT_EQ(j["outcomes"]["503"], 5);
  EXPECT_EQ(j["latency"]["count"], 0);
}

TEST(LoadGeneratorFailureTest, ConnectionFailuresAreCounted) {
  // A socket bound to a port but not listening: connections to it are refused, and the port stays
  // ours for the whole test.
  const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  LoadOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.body = chat_body(kQuestion).dump();
  o.requests = 2;
  o.connections = 1;
  o.timeout_seconds = 5;
  const LoadReport r = run_load(o);
  ::close(sock);
  EXPECT_EQ(r.outcomes, (std::map<std::string, std::int64_t>{{"connect", 2}}));
  EXPECT_EQ(r.ok, 0);
}

TEST_F(LoadGeneratorTest, RejectsBadOptions) {
  LoadOptions o = options(chat_body(kQuestion));
  o.connections = 0;
  EXPECT_THROW((void)run_load(o), std::invalid_argument);
  o = options(chat_body(kQuestion));
  o.base_url = "ftp://x";
  EXPECT_THROW((void)run_load(o), std::invalid_argument);
  o = options(chat_body(kQuestion));
  o.body.clear();
  EXPECT_THROW((void)run_load(o), std::invalid_argument);
}

}  // namespace
}  // namespace clearhouse::tools
