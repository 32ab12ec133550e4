// One request's route (gateway/upstream_route.h): the auction among the upstreams serving its model
// that may be called, the claim on the winner's breaker, which replies are retried and on whom.
#include "gateway/upstream_route.h"

#include <gtest/gtest.h>

#include <vector>

namespace clearhouse::gateway {
namespace {

using http::UpstreamFailure;
using http::UpstreamReply;

// Three upstreams, cheapest first in score: 0 (cheapest), 1, 2 (dearest).
UpstreamAuction three_upstreams() {
  return UpstreamAuction({{"cheapest", 1e-7, {}}, {"middle", 1e-6, {}}, {"dearest", 5e-6, {}}},
                         0.01, 0.0);
}

UpstreamReply reply(UpstreamFailure failure, int status) {
  UpstreamReply r;
  r.failure = failure;
  r.status = status;
  return r;
}

TEST(UpstreamRoute, WhatCountsAsFailedBeforeTheHead) {
  EXPECT_TRUE(failed_before_head(reply(UpstreamFailure::kConnect, 0)));
  EXPECT_TRUE(failed_before_head(reply(UpstreamFailure::kTimeout, 0)));
  EXPECT_TRUE(failed_before_head(reply(UpstreamFailure::kClosed, 0)));
  // Once a head arrived, bytes may have reached the client: never retried.
  EXPECT_FALSE(failed_before_head(reply(UpstreamFailure::kTimeout, 200)));
  EXPECT_FALSE(failed_before_head(reply(UpstreamFailure::kClosed, 200)));
  EXPECT_FALSE(failed_before_head(reply(UpstreamFailure::kNone, 503)));
  EXPECT_FALSE(failed_before_head(reply(UpstreamFailure::kCanceled, 0)));

  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kConnect, 0)), CallOutcome::kFailure);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kTimeout, 200)), CallOutcome::kFailure);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kClosed, 0)), CallOutcome::kFailure);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kClosed, 200)), CallOutcome::kSuccess);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kNone, 500)), CallOutcome::kSuccess);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kCanceled, 200)), CallOutcome::kSuccess);
  EXPECT_EQ(call_outcome(reply(UpstreamFailure::kCanceled, 0)), CallOutcome::kNeutral);
  // The gateway could not open a socket (out of descriptors): not the upstream's failure.
  http::UpstreamReply own = reply(UpstreamFailure::kConnect, 0);
  own.gateway_side = true;
  EXPECT_EQ(call_outcome(own), CallOutcome::kNeutral);
}

TEST(UpstreamRoute, RetriesOnceOnTheNextBestAfterAFailureBeforeTheHead) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(3, {.failure_threshold = 5, .cooldown_seconds = 10}, clock);
  const UpstreamAuction auction = three_upstreams();
  UpstreamRoute route(health, {0, 1, 2});
  std::optional<AuctionPick> pick = route.choose(auction, 100);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->winner, 0u);
  EXPECT_EQ(pick->runner_up, std::optional<std::size_t>{1});
  const UpstreamReply refused = reply(UpstreamFailure::kConnect, 0);
  route.finished(refused);
  EXPECT_EQ(health.snapshot(0).consecutive_failures, 1);
  ASSERT_TRUE(route.may_retry(refused));
  pick = route.choose(auction, 100);
  ASSERT_TRUE(pick);
  EXPECT_EQ(pick->winner, 1u);  // the first call's runner-up
  EXPECT_EQ(pick->runner_up, std::optional<std::size_t>{2});
  route.finished(refused);
  EXPECT_EQ(route.calls(), 2u);
  EXPECT_FALSE(route.may_retry(refused));  // once only
}

TEST(UpstreamRoute, AnswersAndFailuresAfterTheHeadAreNotRetried) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(3, {}, clock);
  const UpstreamAuction auction = three_upstreams();
  UpstreamRoute route(health, {0, 1, 2});
  ASSERT_TRUE(route.choose(auction, 100));
  const UpstreamReply error_answer = reply(UpstreamFailure::kNone, 503);
  route.finished(error_answer);
  EXPECT_FALSE(route.may_retry(error_answer));
  EXPECT_FALSE(route.may_retry(reply(UpstreamFailure::kClosed, 200)));
}

TEST(UpstreamRoute, OpenCircuitsAreLeftOutAndAHalfOpenOneGetsItsProbe) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(3, {.failure_threshold = 1, .cooldown_seconds = 10}, clock);
  const UpstreamAuction auction = three_upstreams();
  health.finish(0, health.claim(0), CallOutcome::kFailure);  // the cheapest is down
  {
    UpstreamRoute route(health, {0, 1, 2});
    const std::optional<AuctionPick> pick = route.choose(auction, 100);
    ASSERT_TRUE(pick);
    EXPECT_EQ(pick->winner, 1u);
    EXPECT_EQ(pick->runner_up, std::optional<std::size_t>{2});  // not the one that is down
  }
  clock.advance_ms(10'000);
  UpstreamRoute probing(health, {0, 1, 2});
  const std::optional<AuctionPick> probe = probing.choose(auction, 100);
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->winner, 0u);
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kHalfOpen);
  // A second request while the probe runs goes elsewhere.
  UpstreamRoute other(health, {0, 1, 2});
  EXPECT_EQ(other.choose(auction, 100)->winner, 1u);
  probing.finished(reply(UpstreamFailure::kNone, 200));
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kClosed);
}

TEST(UpstreamRoute, AClaimWithoutACallIsGivenBack) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(1, {.failure_threshold = 1, .cooldown_seconds = 10}, clock);
  const UpstreamAuction auction({{"only", 1e-6, {}}}, 0.01, 0.0);
  health.finish(0, health.claim(0), CallOutcome::kFailure);
  clock.advance_ms(10'000);
  {
    UpstreamRoute route(health, {0});
    ASSERT_TRUE(route.choose(auction, 100));  // the probe
    EXPECT_FALSE(UpstreamRoute(health, {0}).any_callable());
    UpstreamRoute moved = std::move(route);  // the claim moves with the route
    EXPECT_FALSE(UpstreamRoute(health, {0}).any_callable());
  }  // refused before calling (e.g. no budget): the probe is due again
  EXPECT_EQ(health.snapshot(0).state, CircuitState::kHalfOpen);
  UpstreamRoute next(health, {0});
  EXPECT_TRUE(next.any_callable());
  EXPECT_EQ(next.seconds_until_callable(), 0.0);
  ASSERT_TRUE(next.choose(auction, 100));
  next.give_back();
  EXPECT_TRUE(UpstreamRoute(health, {0}).any_callable());
}

TEST(UpstreamRoute, NothingCallableWhenEveryServingUpstreamIsOpen) {
  base::ManualClock clock(1'000);
  UpstreamHealth health(3, {.failure_threshold = 1, .cooldown_seconds = 10}, clock);
  const UpstreamAuction auction = three_upstreams();
  health.finish(1, health.claim(1), CallOutcome::kFailure);
  clock.advance_ms(4'000);
  health.finish(2, health.claim(2), CallOutcome::kFailure);
  UpstreamRoute route(health, {1, 2});  // the model's upstreams: both down
  EXPECT_FALSE(route.any_callable());
  EXPECT_FALSE(route.choose(auction, 100));
  EXPECT_DOUBLE_EQ(route.seconds_until_callable(), 6.0);  // upstream 1's probe is due first
  EXPECT_TRUE(UpstreamRoute(health, {0, 1}).any_callable());
}

}  // namespace
}  // namespace clearhouse::gateway
