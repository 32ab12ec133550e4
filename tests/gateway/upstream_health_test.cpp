// The circuit breaker per upstream (gateway/upstream_health.h), on a ManualClock: when it opens,
// that it lets exactly one probe through after the cool-down, and what the probe's outcome does.
#include "gateway/upstream_health.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace clearhouse::gateway {
namespace {

constexpr HealthOptions kOptions{.failure_threshold = 3, .cooldown_seconds = 10.0};

std::uint64_t transitions_to(const HealthSnapshot& s, CircuitState state) {
  return s.transitions[static_cast<std::size_t>(state)];
}

// n calls that each fail.
void fail(UpstreamHealth& health, std::size_t k, int n) {
  for (int i = 0; i < n; ++i) {
    const HealthClaim claim = health.claim(k);
    ASSERT_EQ(claim, HealthClaim::kCall);
    health.finish(k, claim, CallOutcome::kFailure);
  }
}

TEST(UpstreamHealth, OpensAfterTheThresholdOfFailuresInARow) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(2, kOptions, clock);
  fail(health, 0, 2);
  // A success between failures starts the count again.
  health.finish(0, health.claim(0), CallOutcome::kSuccess);
  fail(health, 0, 2);
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kClosed);
  EXPECT_EQ(health.snapshot(0).consecutive_failures, 2);
  fail(health, 0, 1);
  const HealthSnapshot s = health.snapshot(0);
  EXPECT_EQ(s.state, CircuitState::kOpen);
  EXPECT_EQ(s.consecutive_failures, 3);
  EXPECT_DOUBLE_EQ(s.probe_in_seconds, 10.0);
  EXPECT_EQ(transitions_to(s, CircuitState::kOpen), 1u);
  EXPECT_FALSE(health.may_call(0));
  EXPECT_EQ(health.claim(0), HealthClaim::kRefused);
  // The other upstream is not affected; neutral outcomes count for nothing.
  EXPECT_TRUE(health.may_call(1));
  for (int i = 0; i < 10; ++i) health.finish(1, health.claim(1), CallOutcome::kNeutral);
  EXPECT_EQ(health.snapshot(1).consecutive_failures, 0);
}

TEST(UpstreamHealth, AfterTheCoolDownOneProbeAtATimeAndItsSuccessCloses) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(1, kOptions, clock);
  fail(health, 0, 3);
  clock.advance_ms(9'999);
  EXPECT_FALSE(health.may_call(0));
  EXPECT_NEAR(health.snapshot(0).probe_in_seconds, 0.001, 1e-9);
  clock.advance_ms(1);
  EXPECT_TRUE(health.may_call(0));
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kOpen);  // until a call claims the probe
  const HealthClaim probe = health.claim(0);
  ASSERT_EQ(probe, HealthClaim::kProbe);
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kHalfOpen);
  EXPECT_TRUE(health.snapshot(0).probe_in_flight);
  // While the probe runs, nothing else goes through.
  EXPECT_FALSE(health.may_call(0));
  EXPECT_EQ(health.claim(0), HealthClaim::kRefused);
  health.finish(0, probe, CallOutcome::kSuccess);
  const HealthSnapshot s = health.snapshot(0);
  EXPECT_EQ(s.state, CircuitState::kClosed);
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_EQ(transitions_to(s, CircuitState::kHalfOpen), 1u);
  EXPECT_EQ(transitions_to(s, CircuitState::kClosed), 1u);
  EXPECT_EQ(health.claim(0), HealthClaim::kCall);
}

TEST(UpstreamHealth, AFailedProbeOpensForANewCoolDownAndANeutralOneLeavesTheProbeDue) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(1, kOptions, clock);
  fail(health, 0, 3);
  clock.advance_ms(10'000);
  HealthClaim probe = health.claim(0);
  ASSERT_EQ(probe, HealthClaim::kProbe);
  health.finish(0, probe, CallOutcome::kNeutral);  // e.g. the request was refused before calling
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kHalfOpen);
  EXPECT_TRUE(health.may_call(0));
  probe = health.claim(0);
  ASSERT_EQ(probe, HealthClaim::kProbe);
  health.finish(0, probe, CallOutcome::kFailure);
  const HealthSnapshot s = health.snapshot(0);
  EXPECT_EQ(s.state, CircuitState::kOpen);
  EXPECT_EQ(s.consecutive_failures, 4);
  EXPECT_EQ(transitions_to(s, CircuitState::kOpen), 2u);
  EXPECT_DOUBLE_EQ(s.probe_in_seconds, 10.0);  // a whole new cool-down from the probe's failure
  clock.advance_ms(5'000);
  EXPECT_FALSE(health.may_call(0));
  clock.advance_ms(5'000);
  EXPECT_EQ(health.claim(0), HealthClaim::kProbe);
}

// Calls begun while closed that end after the circuit opened (or while it probes) change nothing:
// only the probe decides.
TEST(UpstreamHealth, LateOutcomesOfOlderCallsDoNotOverruleTheProbe) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(1, kOptions, clock);
  const HealthClaim slow = health.claim(0);
  ASSERT_EQ(slow, HealthClaim::kCall);
  fail(health, 0, 3);
  clock.advance_ms(10'000);
  const HealthClaim probe = health.claim(0);
  ASSERT_EQ(probe, HealthClaim::kProbe);
  health.finish(0, slow, CallOutcome::kSuccess);
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kHalfOpen);
  health.finish(0, probe, CallOutcome::kFailure);
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kOpen);
}

// Many threads race for the probe of a half-open upstream: exactly one gets it.
TEST(UpstreamHealth, ExactlyOneProbeAmongRacingClaims) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(1, {.failure_threshold = 1, .cooldown_seconds = 1.0}, clock);
  fail(health, 0, 1);
  clock.advance_ms(1'000);
  std::atomic<int> probes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (health.claim(0) == HealthClaim::kProbe) probes.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
}

}  // namespace
}  // namespace clearhouse::gateway
