// Unit tests of the online pacer: options, the plan line and its headroom, the price as a function
// of the gap above the allowance line, the comparison policies, the all-time horizon, concurrency.
// Properties over seeded streams are in pacer_property_test.cpp.
#include "gateway/pacer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/surge_utility.h"
#include "pacer_test_util.h"

namespace clearhouse::gateway {
namespace {

using testing::StreamQuery;
using testing::synthetic_stream;

constexpr PacingPolicy kPolicies[] = {PacingPolicy::kClear, PacingPolicy::kUniform,
                                      PacingPolicy::kPredictor};

// A timed window [0, 100 s) with a budget of 100,000 tokens of which `committed` are spent or
// reserved.
BudgetView window_with(std::int64_t committed) {
  return {100'000, 100'000 - committed, 0, std::int64_t{100'000}};
}

TEST(Pacer, RejectsInvalidOptions) {
  EXPECT_THROW(Pacer({.alpha = 0.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.beta = -1.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.window_queries = 0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.min_tokens = 0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.min_tokens = 10, .max_tokens = 9}), std::invalid_argument);
  EXPECT_THROW(Pacer({.window_ms = -1}), std::invalid_argument);
  EXPECT_THROW(Pacer({.horizon_ms = -1}), std::invalid_argument);
  EXPECT_THROW(Pacer({.headroom_share = -0.1}), std::invalid_argument);
  EXPECT_THROW(Pacer({.headroom_share = 1.1}), std::invalid_argument);
  EXPECT_THROW(Pacer({.price_band_share = 0.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.price_band_share = 1.5}), std::invalid_argument);
  EXPECT_THROW(Pacer({.calibrate_every = 0}), std::invalid_argument);
  EXPECT_NO_THROW(Pacer(PacerOptions{}));
}

TEST(Pacer, RejectsInvalidThreshold) {
  Pacer pacer({});
  const BudgetView view{1000, 1000, 0, std::nullopt};
  EXPECT_THROW((void)pacer.decide(0.0, 0, view), std::invalid_argument);
  EXPECT_THROW((void)pacer.decide(-5.0, 0, view), std::invalid_argument);
  EXPECT_THROW((void)pacer.decide(std::nan(""), 0, view), std::invalid_argument);
  EXPECT_EQ(pacer.state().decisions, 0u);
}

TEST(Pacer, NothingRemainingAbandonsEveryPolicy) {
  for (const PacingPolicy policy : kPolicies) {
    Pacer pacer({.policy = policy});
    for (int i = 0; i < 5; ++i) {
      const PacerDecision d = pacer.decide(100.0, i, {1000, 0, 0, std::nullopt});
      EXPECT_FALSE(d.funded) << to_string(policy);
      EXPECT_EQ(d.cap, 0);
      EXPECT_EQ(d.abandonment, Abandonment::kCutByRemaining) << to_string(policy);
    }
    EXPECT_EQ(pacer.state().abandoned, 5u);
    EXPECT_EQ(pacer.state().decisions, 5u);
  }
}

// The allowance line: h B at the window's start, rising with the even line to B at its end.
TEST(Pacer, AllowanceLineIsTheEvenLinePlusTheUnusedHeadroom) {
  Pacer pacer({.beta = 0.01, .headroom_share = 0.1});
  for (const std::int64_t now : {0, 25'000, 50'000, 100'000, 150'000}) {
    const PacerDecision d = pacer.decide(100.0, now, window_with(0));
    const double even = 100'000.0 * std::min(1.0, double(now) / 100'000.0);
    EXPECT_DOUBLE_EQ(d.plan_tokens, even + 0.1 * (100'000.0 - even)) << now;
    EXPECT_DOUBLE_EQ(pacer.state().even_line_tokens, even);
  }
}

// At or below the allowance line lambda = 0 and every request gets t*(0) = tau + 1/beta.
TEST(Pacer, AtOrBelowTheLineThePriceIsZeroAndCapsAreThePeak) {
  Pacer pacer({.beta = 0.01, .headroom_share = 0.1});
  for (const double tau : {5.0, 100.0, 900.0, 5000.0}) {
    // At 30 s the allowance line stands at 37,000 tokens and the even line at 30,000: from there
    // up no slack is shared out, and the caps are the peak t*(0).
    for (const std::int64_t committed : {30'000, 33'000, 37'000}) {
      const PacerDecision d = pacer.decide(tau, 30'000, window_with(committed));
      EXPECT_DOUBLE_EQ(d.lambda, 0.0);
      EXPECT_DOUBLE_EQ(d.pressure, 0.0);
      ASSERT_TRUE(d.funded) << tau;
      EXPECT_EQ(d.cap, static_cast<std::int64_t>(std::floor(tau + 100.0)));
      EXPECT_GE(static_cast<double>(d.cap), tau);
    }
  }
}

// Below the even line a funded request's cap is at least a sixteenth of the slack, so a plentiful
// budget does not cut long answers; the slack shrinks as it is committed.
TEST(Pacer, BelowTheEvenLineCapsTakeAShareOfTheSlack) {
  Pacer pacer({.beta = 0.01, .max_tokens = 1'000'000, .headroom_share = 0.1});
  // At 30 s the even line stands at 30,000 tokens.
  const PacerDecision idle = pacer.decide(100.0, 30'000, window_with(0));
  EXPECT_DOUBLE_EQ(idle.lambda, 0.0);
  EXPECT_DOUBLE_EQ(idle.slack_tokens, 30'000.0);
  EXPECT_EQ(idle.cap, 30'000 / 16);
  const PacerDecision busier = pacer.decide(100.0, 30'000, window_with(28'000));
  EXPECT_EQ(busier.cap, 200);  // 2,000 / 16 = 125 is below the peak t*(0) = 100 + 100
  Pacer capped({.beta = 0.01, .max_tokens = 1'000, .headroom_share = 0.1});
  EXPECT_EQ(capped.decide(100.0, 30'000, window_with(0)).cap, 1'000);
}

// Above the line: lambda = alpha * gap / band, band = max(price_band_share B, 16 typical caps).
TEST(Pacer, AboveTheLineThePriceIsTheGapOverTheBand) {
  Pacer pacer({.alpha = 2.0, .beta = 0.01, .headroom_share = 0.0, .price_band_share = 0.05});
  // The ring holds one threshold of 100: typical cap 200, 16 of them = 3,200 < 5% of 100,000.
  const PacerDecision d = pacer.decide(100.0, 50'000, window_with(51'000));
  EXPECT_DOUBLE_EQ(d.pressure, 1000.0 / 5000.0);
  EXPECT_DOUBLE_EQ(d.lambda, 2.0 * 0.2);
  const core::SurgeUtility query{100.0, 2.0, 0.01};
  EXPECT_DOUBLE_EQ(d.abandonment_price, query.abandonment_price());
  EXPECT_NEAR(d.cap_at_price, query.cap_at_price(d.lambda), 1e-9);
  EXPECT_EQ(d.cap, static_cast<std::int64_t>(std::floor(query.cap_at_price(d.lambda))));
  // Beyond the band the price stays at alpha, where nothing is funded.
  const PacerDecision far = pacer.decide(100.0, 50'000, window_with(90'000));
  EXPECT_DOUBLE_EQ(far.lambda, 2.0);
  EXPECT_FALSE(far.funded);
  EXPECT_EQ(far.abandonment, Abandonment::kPrice);
}

// A small budget: the band is at least 16 typical caps wide, so one reservation moves the price
// by at most a sixteenth of alpha.
TEST(Pacer, BandIsAtLeastSixteenTypicalCaps) {
  Pacer pacer({.beta = 0.01, .headroom_share = 0.0});
  // Half way through the window: the line is at 5,000 tokens, 6,000 are committed.
  const PacerDecision d = pacer.decide(100.0, 500, {10'000, 4'000, 0, std::int64_t{1000}});
  EXPECT_DOUBLE_EQ(pacer.state().band_tokens, 16.0 * 200.0);
  EXPECT_DOUBLE_EQ(d.pressure, 1000.0 / 3200.0);
}

// The price rises with spend above the line and falls back to zero as the line catches up.
TEST(Pacer, PriceRisesAboveTheLineAndFallsBelowIt) {
  Pacer pacer({.headroom_share = 0.1});
  double previous = -1.0;
  for (const std::int64_t committed : {10'000, 12'000, 14'000, 16'000}) {
    const double lambda = pacer.decide(200.0, 1'000, window_with(committed)).lambda;
    EXPECT_GT(lambda, previous) << committed;
    previous = lambda;
  }
  EXPECT_GT(previous, 0.0);
  previous = std::numeric_limits<double>::infinity();
  for (const std::int64_t now : {2'000, 4'000, 6'000, 8'000}) {
    const double lambda = pacer.decide(200.0, now, window_with(16'000)).lambda;
    EXPECT_LT(lambda, previous) << now;
    previous = lambda;
  }
  EXPECT_DOUBLE_EQ(pacer.decide(200.0, 10'000, window_with(16'000)).lambda, 0.0);
}

// Costly queries are abandoned first when the price rises; cheap ones keep being funded.
TEST(Pacer, CostlyQueriesAreAbandonedFirst) {
  Pacer pacer({.beta = 0.01, .headroom_share = 0.0});
  for (int i = 0; i < 20; ++i) (void)pacer.decide(100.0, 10'000, window_with(0));  // median 100
  const BudgetView ahead = window_with(11'000);  // 1% of the budget above the line at 10 s
  const PacerDecision cheap = pacer.decide(20.0, 10'000, ahead);
  const PacerDecision costly = pacer.decide(5000.0, 10'000, ahead);
  EXPECT_GT(cheap.lambda, 0.0);
  EXPECT_GT(cheap.abandonment_price, costly.abandonment_price);
  EXPECT_TRUE(cheap.funded);
  EXPECT_FALSE(costly.funded);
}

// The largest funded threshold sits where the abandonment price equals lambda.
TEST(Pacer, LargestFundedTauInvertsTheAbandonmentPrice) {
  Pacer pacer({.alpha = 2.0});
  for (const double lambda : {0.05, 0.2, 0.6, 1.5}) {
    const double tau = pacer.largest_funded_tau(lambda, 0.005);
    ASSERT_GT(tau, 0.0);
    const core::SurgeUtility at_the_limit{tau, 2.0, 0.005};
    EXPECT_NEAR(at_the_limit.abandonment_price(), lambda, 1e-6 * lambda);
  }
  EXPECT_EQ(pacer.largest_funded_tau(2.0, 0.005), 0.0);
  EXPECT_TRUE(std::isinf(pacer.largest_funded_tau(0.0, 0.005)));
}

// uniform and predictor shrink their caps linearly with the pressure.
TEST(Pacer, UniformAndPredictorShrinkWithThePressure) {
  Pacer uniform({.policy = PacingPolicy::kUniform, .beta = 0.01, .headroom_share = 0.0});
  (void)uniform.decide(100.0, 0, window_with(0));
  const PacerDecision u = uniform.decide(300.0, 50'000, window_with(51'250));
  EXPECT_DOUBLE_EQ(u.pressure, 0.25);
  ASSERT_TRUE(u.funded);
  EXPECT_EQ(u.cap, static_cast<std::int64_t>(std::floor(0.75 * (200.0 + 100.0))));  // median 200
  Pacer predictor({.policy = PacingPolicy::kPredictor, .beta = 0.01, .headroom_share = 0.0});
  (void)predictor.decide(100.0, 0, window_with(0));
  const PacerDecision p = predictor.decide(300.0, 50'000, window_with(51'250));
  ASSERT_TRUE(p.funded);
  EXPECT_EQ(p.cap, static_cast<std::int64_t>(std::floor(0.75 * (300.0 + 100.0))));
  const PacerDecision none = predictor.decide(300.0, 50'000, window_with(60'000));
  EXPECT_FALSE(none.funded);
  EXPECT_EQ(none.abandonment, Abandonment::kBelowMinTokens);
}

// An all-time budget with a horizon spreads what is left at the first decision over the horizon;
// without one there is no line and the price stays zero until the budget runs out.
TEST(Pacer, AllTimeBudgetFollowsTheHorizonFromTheFirstDecision) {
  Pacer paced({.beta = 0.01, .horizon_ms = 100'000, .headroom_share = 0.0});
  const BudgetView view{100'000, 80'000, 0, std::nullopt};  // 20,000 committed before the start
  EXPECT_DOUBLE_EQ(paced.decide(100.0, 1'000'000, view).plan_tokens, 20'000.0);
  const PacerDecision half = paced.decide(100.0, 1'050'000, view);
  EXPECT_DOUBLE_EQ(half.plan_tokens, 60'000.0);
  EXPECT_DOUBLE_EQ(paced.decide(100.0, 1'090'000, {100'000, 10'000, 0, std::nullopt}).plan_tokens,
                   92'000.0);
  Pacer free({.beta = 0.01});
  const PacerDecision d = free.decide(100.0, 0, {100'000, 300, 0, std::nullopt});
  EXPECT_DOUBLE_EQ(d.lambda, 0.0);
  EXPECT_EQ(d.cap, 200);
}

// A new window (a different start) re-anchors the all-time line; a timed view's end wins over the
// options' window_ms.
TEST(Pacer, WindowEndComesFromTheViewOrTheOptions) {
  Pacer from_options({.beta = 0.01, .window_ms = 10'000, .headroom_share = 0.0});
  EXPECT_DOUBLE_EQ(from_options.decide(100.0, 2'500, {1000, 1000, 0, std::nullopt}).plan_tokens,
                   250.0);
  EXPECT_DOUBLE_EQ(from_options.decide(100.0, 2'500, {1000, 1000, 0, 5'000}).plan_tokens, 500.0);
}

// decide() and record_usage() from several threads: every decision is counted, caps stay valid.
TEST(Pacer, ConcurrentDecisionsAreCountedAndValid) {
  Pacer pacer({.window_queries = 64});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  std::vector<int> invalid(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto stream = synthetic_stream(100 + static_cast<std::uint64_t>(t), kPerThread);
      for (const StreamQuery& q : stream) {
        const PacerDecision d =
            pacer.decide(q.tau_hat, q.arrival_ms, {10'000'000, 5'000'000, 0, 1'000'000});
        if (d.funded && (d.cap < 1 || d.cap > 32768)) ++invalid[static_cast<std::size_t>(t)];
        if (d.funded) pacer.record_usage(d.cap, std::min(d.cap, q.length));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(pacer.state().decisions, std::uint64_t{kThreads * kPerThread});
  EXPECT_EQ(std::count(invalid.begin(), invalid.end(), 0), kThreads);
  EXPECT_EQ(pacer.state().window_size, 64u);
}

TEST(Pacer, UsageRatioIsReportedAndClamped) {
  Pacer pacer({.window_queries = 64});
  for (int i = 0; i < 1000; ++i) pacer.record_usage(200, 100);
  EXPECT_NEAR(pacer.state().usage_ratio, 0.5, 1e-9);
  for (int i = 0; i < 5000; ++i) pacer.record_usage(200, 0);
  EXPECT_DOUBLE_EQ(pacer.state().usage_ratio, 0.05);
  Pacer fresh({});
  fresh.record_usage(0, 50);
  EXPECT_DOUBLE_EQ(fresh.state().usage_ratio, 1.0);
  fresh.record_usage(100, 500);
  EXPECT_DOUBLE_EQ(fresh.state().usage_ratio, 1.0);
}

}  // namespace
}  // namespace clearhouse::gateway
