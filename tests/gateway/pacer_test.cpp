// Properties of the online pacer on seeded simulated streams (pacer_test_util.h plays the gateway and
// the ledger): caps are whole and in range, spend never passes the budget, spend ends near the budget
// when demand exceeds it, the comparison policies do what they say, and the price rises as the budget
// shrinks.
#include "gateway/pacer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pacer_test_util.h"

namespace clearhouse::gateway {
namespace {

using testing::SimOptions;
using testing::simulate;
using testing::StreamQuery;
using testing::synthetic_stream;

constexpr PacingPolicy kPolicies[] = {PacingPolicy::kClear, PacingPolicy::kUniform,
                                      PacingPolicy::kPredictor};

double mean_length(const std::vector<StreamQuery>& stream) {
  double sum = 0.0;
  for (const StreamQuery& q : stream) sum += static_cast<double>(q.length);
  return sum / static_cast<double>(stream.size());
}

TEST(Pacer, RejectsInvalidOptions) {
  EXPECT_THROW(Pacer({.alpha = 0.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.beta = -1.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.window_queries = 0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.expected_requests_per_window = -1.0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.min_tokens = 0}), std::invalid_argument);
  EXPECT_THROW(Pacer({.min_tokens = 10, .max_tokens = 9}), std::invalid_argument);
  EXPECT_THROW(Pacer({.window_ms = -1}), std::invalid_argument);
  EXPECT_THROW(Pacer({.resolve_every = 0}), std::invalid_argument);
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
    }
    EXPECT_EQ(pacer.state().abandoned, 5u);
    EXPECT_EQ(pacer.state().decisions, 5u);
  }
}

// Caps are whole, within [min, max], never above the remaining tokens, and spend (plus open
// reservations) never passes the budget: for every policy, with reservations settled at once or
// left open for a while, in all-time and timed windows, over budgets from scarce to ample.
TEST(Pacer, CapsAreValidAndSpendNeverExceedsTheBudget) {
  for (const PacingPolicy policy : kPolicies) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
      const auto stream = synthetic_stream(seed, 800);
      for (const std::int64_t per_query : {20, 100, 400, 5000}) {
        for (const std::size_t delay : {std::size_t{0}, std::size_t{16}}) {
          for (const bool timed : {false, true}) {
            PacerOptions options{.policy = policy, .window_queries = 128, .min_tokens = 8,
                                 .max_tokens = 1500};
            if (!timed) options.expected_requests_per_window = 800;
            Pacer pacer(options);
            const std::int64_t budget = per_query * 800;
            SimOptions sim{.budget = budget, .settle_delay = delay};
            if (timed) sim.window_end_ms = stream.back().arrival_ms + 100;
            const auto r = simulate(pacer, stream, sim);
            SCOPED_TRACE(::testing::Message() << to_string(policy) << " seed " << seed << " "
                                              << per_query << " tok/query delay " << delay
                                              << (timed ? " timed" : " all-time"));
            EXPECT_TRUE(r.caps_valid);
            EXPECT_EQ(r.refused, 0u);
            EXPECT_LE(r.max_committed, budget);
            EXPECT_LE(r.spent, budget);
            EXPECT_GE(r.spent, 0);
          }
        }
      }
    }
  }
}

// When demand exceeds the budget, the window's budget is (nearly) all spent by its end.
TEST(Pacer, SpendEndsCloseToTheBudgetWhenDemandExceedsIt) {
  for (const PacingPolicy policy : kPolicies) {
    for (const std::uint64_t seed : {4u, 5u}) {
      const auto stream = synthetic_stream(seed, 1000);
      const double demand = mean_length(stream) * 1000.0;
      for (const double share : {0.2, 0.5}) {
        const auto budget = static_cast<std::int64_t>(share * demand);
        for (const bool timed : {false, true}) {
          PacerOptions options{.policy = policy};
          if (!timed) options.expected_requests_per_window = 1000;
          Pacer pacer(options);
          SimOptions sim{.budget = budget, .settle_delay = 4};
          if (timed) sim.window_end_ms = stream.back().arrival_ms + 100;
          const auto r = simulate(pacer, stream, sim);
          EXPECT_LE(r.spent, budget);
          EXPECT_GE(static_cast<double>(r.spent), 0.9 * static_cast<double>(budget))
              << to_string(policy) << " seed " << seed << " share " << share
              << (timed ? " timed" : " all-time");
        }
      }
    }
  }
}

// uniform: without usage feedback (rho = 1) every request gets floor(allowance), allowance =
// remaining / R with R = E - decisions so far (all-time window with E).
TEST(Pacer, UniformGivesEveryRequestTheAllowance) {
  Pacer pacer({.policy = PacingPolicy::kUniform, .expected_requests_per_window = 100});
  const auto stream = synthetic_stream(6, 100);
  std::int64_t remaining = 20'000;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    const PacerDecision d = pacer.decide(stream[i].tau_hat, stream[i].arrival_ms,
                                         {20'000, remaining, 0, std::nullopt});
    const double expected_allowance = static_cast<double>(remaining) / double(100 - i);
    EXPECT_DOUBLE_EQ(d.allowance_tokens, expected_allowance);
    EXPECT_DOUBLE_EQ(pacer.state().expected_remaining_requests, double(100 - i));
    ASSERT_TRUE(d.funded);
    EXPECT_EQ(d.cap, static_cast<std::int64_t>(std::floor(expected_allowance)));
    remaining -= std::min(d.cap, stream[i].length);
  }
}

// uniform with usage feedback: when requests use half their caps, caps grow to about twice the
// allowance (rho = 0.5).
TEST(Pacer, UsageFeedbackScalesCapsByTheUsageRatio) {
  Pacer pacer({.policy = PacingPolicy::kUniform, .window_queries = 64,
               .expected_requests_per_window = 1000});
  for (int i = 0; i < 1000; ++i) pacer.record_usage(200, 100);
  EXPECT_NEAR(pacer.state().usage_ratio, 0.5, 1e-9);
  const PacerDecision d = pacer.decide(50.0, 0, {1'000'000'000, 1'000'000, 0, std::nullopt});
  EXPECT_DOUBLE_EQ(d.allowance_tokens, 1000.0);
  ASSERT_TRUE(d.funded);
  EXPECT_EQ(d.cap, 2000);
  // The ratio is clamped: a stream of empty answers cannot inflate caps more than 20-fold.
  for (int i = 0; i < 5000; ++i) pacer.record_usage(200, 0);
  EXPECT_DOUBLE_EQ(pacer.state().usage_ratio, 0.05);
  // Settlements with no cap are ignored; used beyond the cap counts as the cap.
  Pacer fresh({});
  fresh.record_usage(0, 50);
  EXPECT_DOUBLE_EQ(fresh.state().usage_ratio, 1.0);
  fresh.record_usage(100, 500);
  EXPECT_DOUBLE_EQ(fresh.state().usage_ratio, 1.0);
}

// predictor: cap = floor(allowance * tau_hat / mean of the ring), the ring being the last
// window_queries thresholds including this one.
TEST(Pacer, PredictorScalesTheAllowanceByRelativeThreshold) {
  constexpr std::size_t kWindow = 8;
  Pacer pacer({.policy = PacingPolicy::kPredictor, .window_queries = kWindow,
               .expected_requests_per_window = 1000});
  const auto stream = synthetic_stream(7, 60);
  std::vector<double> seen;
  for (const StreamQuery& q : stream) {
    seen.push_back(q.tau_hat);
    const std::size_t from = seen.size() > kWindow ? seen.size() - kWindow : 0;
    double mean = 0.0;
    for (std::size_t i = from; i < seen.size(); ++i) mean += seen[i];
    mean /= static_cast<double>(seen.size() - from);
    const PacerDecision d = pacer.decide(q.tau_hat, q.arrival_ms, {1'000'000, 100'000, 0, {}});
    EXPECT_GT(d.allowance_tokens, 90.0);
    ASSERT_TRUE(d.funded);
    EXPECT_NEAR(static_cast<double>(d.cap), std::floor(d.allowance_tokens * q.tau_hat / mean), 1.0);
  }
}

// Monotone tendency: over one stream, the average shadow price falls as the budget per query grows.
TEST(Pacer, PriceRisesAsTheBudgetShrinks) {
  const auto stream = synthetic_stream(8, 600);
  double previous = std::numeric_limits<double>::infinity();
  std::size_t previous_funded = 0;
  for (const std::int64_t per_query : {30, 60, 120, 240, 480}) {
    Pacer pacer({.expected_requests_per_window = 600});
    const auto r = simulate(pacer, stream, {.budget = per_query * 600});
    double mean_lambda = 0.0;
    for (const PacerDecision& d : r.decisions) mean_lambda += d.lambda;
    mean_lambda /= static_cast<double>(r.decisions.size());
    EXPECT_LT(mean_lambda, previous) << per_query << " tokens per query";
    EXPECT_GE(r.funded, previous_funded) << per_query << " tokens per query";
    previous = mean_lambda;
    previous_funded = r.funded;
  }
}

// Within one stream: when the remaining budget drops suddenly, the price jumps up and cheap queries
// (low threshold) keep being funded while costly ones are abandoned first.
TEST(Pacer, PriceJumpsWhenTheRemainingBudgetDrops) {
  Pacer pacer({.window_queries = 64, .expected_requests_per_window = 1000});
  const auto stream = synthetic_stream(9, 200);
  double before = 0.0;
  for (std::size_t i = 0; i < 100; ++i) {
    before = pacer.decide(stream[i].tau_hat, stream[i].arrival_ms, {400'000, 200'000, 0, {}}).lambda;
  }
  const PacerDecision after = pacer.decide(stream[100].tau_hat, stream[100].arrival_ms,
                                           {400'000, 20'000, 0, {}});
  EXPECT_GT(after.lambda, before);
  const PacerDecision cheap = pacer.decide(20.0, stream[101].arrival_ms, {400'000, 20'000, 0, {}});
  const PacerDecision costly = pacer.decide(5000.0, stream[101].arrival_ms, {400'000, 20'000, 0, {}});
  EXPECT_GT(cheap.abandonment_price, costly.abandonment_price);
  EXPECT_TRUE(cheap.funded);
  EXPECT_FALSE(costly.funded);
}

// An all-time window with E: R counts down from E and ends at 1; without E it is window_queries.
TEST(Pacer, AllTimeWindowCountsDownTheExpectedRequests) {
  Pacer pacer({.expected_requests_per_window = 10});
  for (int i = 0; i < 14; ++i) {
    (void)pacer.decide(100.0, i, {10'000, 10'000, 0, std::nullopt});
    EXPECT_DOUBLE_EQ(pacer.state().expected_remaining_requests, std::max(1.0, 10.0 - i));
  }
  Pacer no_e({.window_queries = 300});
  (void)no_e.decide(100.0, 0, {10'000, 10'000, 0, std::nullopt});
  EXPECT_DOUBLE_EQ(no_e.state().expected_remaining_requests, 300.0);
  EXPECT_NEAR(no_e.state().allowance_tokens, 10'000.0 / 300.0, 1e-9);
}

// A timed window without E: R = 1 + rate * time left, the rate from the ring's arrivals; before two
// arrivals are known, R = window_queries.
TEST(Pacer, TimedWindowEstimatesTheArrivalRate) {
  Pacer pacer({.window_queries = 100});
  const BudgetView view{100'000, 50'000, 0, 100'000};
  (void)pacer.decide(100.0, 0, view);
  EXPECT_DOUBLE_EQ(pacer.state().expected_remaining_requests, 100.0);
  for (int i = 1; i <= 20; ++i) (void)pacer.decide(100.0, i * 500, view);  // 2 per second
  const PacerState s = pacer.state();
  EXPECT_NEAR(s.arrival_rate_per_second, 2.0, 1e-9);
  EXPECT_NEAR(s.expected_remaining_requests, 1.0 + 2.0 * 90.0, 1e-6);
  // The window's options give the end when the view has none.
  Pacer from_options({.window_queries = 100, .window_ms = 100'000});
  for (int i = 0; i <= 20; ++i) (void)from_options.decide(100.0, i * 500, {100'000, 50'000, 0, {}});
  EXPECT_NEAR(from_options.state().expected_remaining_requests, 1.0 + 2.0 * 90.0, 1e-6);
}

// A timed window with E: R = E * time left / window length.
TEST(Pacer, TimedWindowWithExpectedRequests) {
  Pacer pacer({.expected_requests_per_window = 1000});
  (void)pacer.decide(100.0, 75'000, {100'000, 50'000, 0, 100'000});
  EXPECT_DOUBLE_EQ(pacer.state().expected_remaining_requests, 250.0);
  (void)pacer.decide(100.0, 100'000, {100'000, 50'000, 0, 100'000});
  EXPECT_DOUBLE_EQ(pacer.state().expected_remaining_requests, 1.0);
}

// Re-solving only every few decisions (the default) decides almost exactly as re-solving on every
// decision does.
TEST(Pacer, CachedPriceDecidesLikeAFreshSolve) {
  const auto stream = synthetic_stream(10, 2000);
  const std::int64_t budget = 120 * 2000;
  Pacer cached({.expected_requests_per_window = 2000});
  Pacer fresh({.expected_requests_per_window = 2000, .resolve_every = 1, .resolve_tolerance = 0.0});
  const auto a = simulate(cached, stream, {.budget = budget});
  const auto b = simulate(fresh, stream, {.budget = budget});
  EXPECT_NEAR(static_cast<double>(a.solved), static_cast<double>(b.solved), 0.03 * double(b.solved));
  EXPECT_NEAR(static_cast<double>(a.spent), static_cast<double>(b.spent), 0.03 * double(budget));
}

// decide() and record_usage() from several threads: every decision is counted, caps stay valid.
TEST(Pacer, ConcurrentDecisionsAreCountedAndValid) {
  Pacer pacer({.window_queries = 64, .expected_requests_per_window = 1e6});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  std::vector<int> invalid(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const auto stream = synthetic_stream(100 + static_cast<std::uint64_t>(t), kPerThread);
      for (const StreamQuery& q : stream) {
        const PacerDecision d = pacer.decide(q.tau_hat, q.arrival_ms, {10'000'000, 5'000'000, 0, {}});
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

}  // namespace
}  // namespace clearhouse::gateway
