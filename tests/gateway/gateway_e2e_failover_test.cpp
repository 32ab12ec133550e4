// End to end, in one process over real sockets (gateway_test_util.h): upstream health and failover.
// A request whose upstream failed before answering is retried once on the next-best upstream, with
// the ledger closing the failed call and reserving the retry anew; an upstream that keeps failing
// is marked down (its circuit opens) and gets one probe after its cool-down, on the rig's
// ManualClock. /metrics and /admin/state show each upstream's state.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway_test_util.h"

namespace clearhouse::gateway::testing {
namespace {

constexpr const char* kChat = "/v1/chat/completions";
constexpr const char* kDead = "dead";
constexpr std::int64_t kCoolDownMs = 30'000;

// An upstream named `name` on a port nothing listens on, cheaper than the replay (price 1.0), so it
// wins the auction whenever it may be called.
UpstreamConfig dead_upstream(const GatewayConfig& c, const std::string& name) {
  UpstreamConfig dead = c.upstreams.at(0);
  dead.name = name;
  dead.base_url = "http://127.0.0.1:" + std::to_string(unused_port());
  dead.price_per_mtok = 0.1;
  return dead;
}

// The replay plus a cheaper dead upstream first in the config, both serving kModel; the circuit
// opens after 2 failures and probes after kCoolDownMs.
RigOptions dead_and_healthy() {
  return {.configure = [](GatewayConfig& c) {
    c.upstreams.insert(c.upstreams.begin(), dead_upstream(c, kDead));
    c.health = {.failure_threshold = 2, .cooldown_seconds = kCoolDownMs / 1000.0};
  }};
}

double metric(const GatewayRig& rig, const std::string& name, const std::string& labels) {
  return metric_value(rig.get("/metrics").body, name, labels).value_or(-1.0);
}

ledger::Totals upstream_totals(GatewayRig& rig, const std::string& upstream) {
  const ledger::LedgerTotals totals = rig.ledger().totals();
  const auto it = totals.by_upstream.find(upstream);
  return it == totals.by_upstream.end() ? ledger::Totals{} : it->second;
}

// Finding 7 of the hostile-door issue: a dead upstream that wins the auction on price got every
// request (502) while a healthy one was never tried.
TEST(GatewayE2EFailover, ADeadCheapUpstreamFailsOverIsMarkedDownAndProbedAfterItsCoolDown) {
  GatewayRig rig(dead_and_healthy());
  const json body = chat_body(long_answer(), {{"max_tokens", 20}});

  // Two requests: each tries the dead upstream first, then succeeds on the replay.
  const Reply whole = rig.post(kChat, body);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(whole.header("x-clearhouse-upstream"), kUpstreamName);
  const auto served = rig.record(whole);  // a whole response names the retry
  ASSERT_TRUE(served);
  EXPECT_EQ(served->upstream, kUpstreamName);
  EXPECT_EQ(served->state, ledger::RequestState::kSettled);
  EXPECT_EQ(served->used_tokens, 20);

  json stream_body = body;
  stream_body["stream"] = true;
  const StreamReply stream = rig.stream(kChat, stream_body);
  EXPECT_EQ(stream.status, 200);
  EXPECT_TRUE(stream.ends_with_done()) << stream.body;
  EXPECT_FALSE(stream.has_error_event());
  EXPECT_EQ(stream.content_chunks(), 20);

  // The failed calls were released (nothing was sent), the retries settled on the replay.
  ledger::Totals dead = upstream_totals(rig, kDead);
  EXPECT_EQ(dead.requests, 2);
  EXPECT_EQ(dead.open_requests, 0);
  EXPECT_EQ(dead.spent_tokens, 0);
  EXPECT_EQ(upstream_totals(rig, kUpstreamName).spent_tokens, 40);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_errors_total", R"(upstream="dead",kind="connect")"),
            2);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_retries_total", R"(upstream="dead")"), 2);
  // Two failures in a row: marked down.
  EXPECT_EQ(metric(rig, "clearhouse_upstream_up", R"(upstream="dead")"), 0);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_up", R"(upstream="replay")"), 1);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_circuit_transitions_total",
                   R"(upstream="dead",state="open")"),
            1);
  const json state = rig.gateway().admin_state();
  EXPECT_EQ(state["upstreams"][0]["name"], kDead);
  EXPECT_EQ(state["upstreams"][0]["circuit"], "open");
  EXPECT_EQ(state["upstreams"][0]["consecutive_failures"], 2);
  EXPECT_EQ(state["upstreams"][1]["circuit"], "closed");

  // While down, requests go straight to the replay: no call, no ledger entry for the dead one.
  for (int i = 0; i < 3; ++i) {
    const Reply r = rig.post(kChat, body);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(upstream_totals(rig, kDead).requests, 2);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_errors_total", R"(upstream="dead",kind="connect")"),
            2);

  // After the cool-down, the next request is the dead upstream's probe: it fails, the circuit opens
  // again, and the request is served by the replay all the same.
  rig.clock().advance_ms(kCoolDownMs);
  const Reply probed = rig.post(kChat, body);
  ASSERT_EQ(probed.status, 200) << probed.body;
  EXPECT_EQ(upstream_totals(rig, kDead).requests, 3);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_errors_total", R"(upstream="dead",kind="connect")"),
            3);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_circuit_transitions_total",
                   R"(upstream="dead",state="half_open")"),
            1);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_circuit_transitions_total",
                   R"(upstream="dead",state="open")"),
            2);
  EXPECT_EQ(rig.gateway().admin_state()["upstreams"][0]["circuit"], "open");
  // And not before the next cool-down.
  ASSERT_EQ(rig.post(kChat, body).status, 200);
  EXPECT_EQ(upstream_totals(rig, kDead).requests, 3);

  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 20 * 7);
}

// Once only: with two dead upstreams ahead of the healthy one, the second failure is the answer.
TEST(GatewayE2EFailover, ARequestIsRetriedOnceAtMost) {
  GatewayRig rig({.configure = [](GatewayConfig& c) {
    c.upstreams.insert(c.upstreams.begin(), dead_upstream(c, "dead-b"));
    c.upstreams.insert(c.upstreams.begin(), dead_upstream(c, "dead-a"));
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 20}}));
  ASSERT_EQ(r.status, 502) << r.body;
  EXPECT_TRUE(is_openai_error(r.body, "upstream_unavailable"));
  EXPECT_EQ(r.header("x-clearhouse-upstream"), "dead-b");  // the retry's
  EXPECT_EQ(upstream_totals(rig, "dead-a").requests, 1);
  EXPECT_EQ(upstream_totals(rig, "dead-b").requests, 1);
  EXPECT_EQ(upstream_totals(rig, kUpstreamName).requests, 0);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 0);
}

// When every upstream serving the model is down, the gateway answers at once with a 503 and the
// time to the next probe, without reserving anything.
TEST(GatewayE2EFailover, EveryUpstreamOfTheModelDownIs503UntilTheProbeIsDue) {
  GatewayRig rig(
      {.configure =
           [](GatewayConfig& c) { c.health = {.failure_threshold = 1, .cooldown_seconds = 12.5}; },
       .upstream_down = true});
  const json body = chat_body(long_answer(), {{"max_tokens", 20}});
  const Reply first = rig.post(kChat, body);
  ASSERT_EQ(first.status, 502) << first.body;
  EXPECT_TRUE(is_openai_error(first.body, "upstream_unavailable"));
  EXPECT_EQ(rig.requests_recorded(), 1);

  const Reply down = rig.post(kChat, body);
  ASSERT_EQ(down.status, 503) << down.body;
  EXPECT_TRUE(is_openai_error(down.body, "upstream_unavailable"));
  EXPECT_EQ(down.header("Retry-After"), "13");
  EXPECT_EQ(rig.requests_recorded(), 1);  // nothing reserved

  rig.clock().advance_ms(12'500);
  const Reply probe = rig.post(kChat, body);
  EXPECT_EQ(probe.status, 502) << probe.body;  // the probe was sent, and failed
  EXPECT_EQ(rig.requests_recorded(), 2);
  EXPECT_EQ(rig.post(kChat, body).status, 503);
  EXPECT_TRUE(rig.ledger_settled());
}

// Many clients at once while the dead upstream is found out, probed and left out again: every
// request is served by the replay, and the ledger ends with nothing open and only the replay's
// usage spent.
TEST(GatewayE2EFailover, ConcurrentRequestsAllFailOverAndTheLedgerEndsSettled) {
  GatewayRig rig(dead_and_healthy());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::atomic<int> served{0};
  std::atomic<int> streamed_chunks{0};
  const auto run_clients = [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          json body = chat_body(long_answer(), {{"max_tokens", 10}});
          if ((t + i) % 2 == 0) {
            body["stream"] = true;
            const StreamReply s = rig.stream(kChat, body);
            if (s.status == 200 && s.ends_with_done() && !s.has_error_event()) served.fetch_add(1);
            streamed_chunks.fetch_add(static_cast<int>(s.content_chunks()));
          } else if (rig.post(kChat, body).status == 200) {
            served.fetch_add(1);
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
  };
  run_clients();
  rig.clock().advance_ms(kCoolDownMs);  // a probe is due: the racing requests claim it once
  run_clients();
  EXPECT_EQ(served.load(), 2 * kThreads * kPerThread);
  EXPECT_EQ(streamed_chunks.load(), 10 * kThreads * kPerThread);  // half of them streamed
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(metric(rig, "clearhouse_open_reservations", ""), 0);
  const ledger::Totals dead = upstream_totals(rig, kDead);
  EXPECT_EQ(dead.spent_tokens, 0);
  EXPECT_GE(dead.requests, 2);  // at least the failures that opened it
  EXPECT_EQ(metric(rig, "clearhouse_upstream_circuit_transitions_total",
                   R"(upstream="dead",state="half_open")"),
            1);  // one probe after the cool-down, however many requests raced for it
  EXPECT_EQ(rig.spent(), 10 * 2 * kThreads * kPerThread);
  EXPECT_EQ(upstream_totals(rig, kUpstreamName).spent_tokens, rig.spent());
}

// An upstream that accepts the request and never answers: the gateway's read timeout ends the call.
class SilentUpstream {
 public:
  SilentUpstream()
      : server_(http::HttpServerOptions{}, [this](const http::HttpRequest&) {
          std::unique_lock lock(mutex_);
          released_.wait(lock, [this] { return release_; });
          return http::json_response(500, {{"error", "released"}});
        }) {
    port_ = server_.bind();
    server_.start();
  }
  ~SilentUpstream() {
    {
      const std::lock_guard lock(mutex_);
      release_ = true;
    }
    released_.notify_all();
    server_.stop();
  }
  SilentUpstream(const SilentUpstream&) = delete;
  SilentUpstream& operator=(const SilentUpstream&) = delete;
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool release_ = false;
  http::HttpServer server_;
  int port_ = 0;
};

// A timeout before the response head is retried too, but the first call may have generated up to
// its cap (and its upstream may bill it): that reservation is counted in full, and the retry is
// reserved anew.
TEST(GatewayE2EFailover, ATimeoutBeforeTheHeadIsRetriedAndTheFirstCallCountedInFull) {
  SilentUpstream silent;
  GatewayRig rig({.configure = [&silent](GatewayConfig& c) {
    UpstreamConfig slow = dead_upstream(c, "silent");
    slow.base_url = silent.url();
    slow.read_timeout_seconds = 0.3;
    c.upstreams.insert(c.upstreams.begin(), slow);
  }});
  const Reply r = rig.post(kChat, chat_body(long_answer(), {{"max_tokens", 30}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-clearhouse-upstream"), kUpstreamName);
  const ledger::Totals slow = upstream_totals(rig, "silent");
  EXPECT_EQ(slow.requests, 1);
  EXPECT_EQ(slow.spent_tokens, 30);
  EXPECT_EQ(upstream_totals(rig, kUpstreamName).spent_tokens, 30);
  EXPECT_EQ(metric(rig, "clearhouse_upstream_errors_total", R"(upstream="silent",kind="timeout")"),
            1);
  EXPECT_TRUE(rig.ledger_settled());
  EXPECT_EQ(rig.spent(), 60);
}

}  // namespace
}  // namespace clearhouse::gateway::testing
