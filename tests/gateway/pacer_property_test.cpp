// Properties of the online pacer on seeded simulated streams (pacer_test_util.h plays the gateway
// and the ledger): caps are whole and in range and spend never passes the budget whatever the
// traffic; demand at or below the budget is never abandoned and every cap covers the predicted
// need; demand above it spends the budget by the window's end; a fresh window serves its first
// burst.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gateway/pacer.h"
#include "pacer_test_util.h"

namespace clearhouse::gateway {
namespace {

using testing::SimOptions;
using testing::simulate;
using testing::StreamQuery;
using testing::synthetic_stream;

constexpr PacingPolicy kPolicies[] = {PacingPolicy::kClear, PacingPolicy::kUniform,
                                      PacingPolicy::kPredictor};

double demand_of(const std::vector<StreamQuery>& stream) {
  double sum = 0.0;
  for (const StreamQuery& q : stream) sum += static_cast<double>(q.length);
  return sum;
}

// The window closes one mean gap after the last arrival.
std::int64_t window_end(const std::vector<StreamQuery>& stream) {
  const auto last = stream.back().arrival_ms;
  return last + last / static_cast<std::int64_t>(stream.size()) + 1;
}

enum class Window { kTimed, kAllTimeHorizon, kAllTimeFree };

const char* to_string(Window w) {
  switch (w) {
    case Window::kTimed: return "timed";
    case Window::kAllTimeHorizon: return "all-time with horizon";
    case Window::kAllTimeFree: return "all-time without horizon";
  }
  return "";
}

// Caps are whole, within [min, max], never above the remaining tokens, and spend (plus open
// reservations) never passes the budget: for every policy, with reservations settled at once or
// left open for a while, in timed and all-time windows, over budgets from scarce to ample.
TEST(PacerProperty, CapsAreValidAndSpendNeverExceedsTheBudget) {
  for (const PacingPolicy policy : kPolicies) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
      const auto stream = synthetic_stream(seed, 800);
      for (const std::int64_t per_query : {20, 100, 400, 5000}) {
        for (const std::size_t delay : {std::size_t{0}, std::size_t{16}}) {
          for (const Window window :
               {Window::kTimed, Window::kAllTimeHorizon, Window::kAllTimeFree}) {
            PacerOptions options{
                .policy = policy, .window_queries = 128, .min_tokens = 8, .max_tokens = 1500};
            if (window == Window::kAllTimeHorizon) options.horizon_ms = window_end(stream);
            Pacer pacer(options);
            const std::int64_t budget = per_query * 800;
            SimOptions sim{.budget = budget, .settle_delay = delay};
            if (window == Window::kTimed) sim.window_end_ms = window_end(stream);
            const auto r = simulate(pacer, stream, sim);
            SCOPED_TRACE(::testing::Message()
                         << to_string(policy) << " seed " << seed << " " << per_query
                         << " tok/query delay " << delay << " " << to_string(window));
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

// Demand at 3x and 10x the budget: the budget is (nearly) all spent by the window's end, and the
// price was positive for part of it.
TEST(PacerProperty, SpendReachesTheBudgetWhenDemandExceedsIt) {
  for (const PacingPolicy policy : kPolicies) {
    for (const std::uint64_t seed : {4u, 5u}) {
      const auto stream = synthetic_stream(seed, 1000);
      for (const double multiple : {3.0, 10.0}) {
        const auto budget = static_cast<std::int64_t>(demand_of(stream) / multiple);
        for (const std::size_t delay : {std::size_t{0}, std::size_t{4}}) {
          Pacer pacer({.policy = policy});
          const auto r = simulate(
              pacer, stream,
              {.budget = budget, .window_end_ms = window_end(stream), .settle_delay = delay});
          EXPECT_LE(r.spent, budget);
          EXPECT_GE(static_cast<double>(r.spent), 0.95 * static_cast<double>(budget))
              << to_string(policy) << " seed " << seed << " demand " << multiple << "x delay "
              << delay;
        }
      }
    }
  }
}

// Demand at or below the budget, spread over the window: nothing is abandoned, the price stays
// zero, and every cap covers the predicted need (up to max_tokens).
TEST(PacerProperty, DemandWithinTheBudgetIsNeverAbandonedAndCapsCoverTheNeed) {
  for (const std::uint64_t seed : {6u, 7u, 8u}) {
    const auto stream = synthetic_stream(seed, 1000);
    for (const double multiple : {0.1, 0.3, 0.6, 0.9}) {
      const auto budget = static_cast<std::int64_t>(demand_of(stream) / multiple);
      for (const std::size_t delay : {std::size_t{0}, std::size_t{8}}) {
        Pacer pacer({});
        const auto r = simulate(
            pacer, stream,
            {.budget = budget, .window_end_ms = window_end(stream), .settle_delay = delay});
        SCOPED_TRACE(::testing::Message()
                     << "seed " << seed << " demand " << multiple << "x delay " << delay);
        EXPECT_EQ(r.funded, stream.size());
        for (std::size_t i = 0; i < stream.size(); ++i) {
          const PacerDecision& d = r.decisions[i];
          EXPECT_DOUBLE_EQ(d.lambda, 0.0) << i;
          const auto need = std::min<std::int64_t>(
              static_cast<std::int64_t>(std::floor(stream[i].tau_hat)), pacer.options().max_tokens);
          EXPECT_GE(d.cap, need) << i;
        }
      }
    }
  }
}

// The first experience: a fresh gateway (1,000,000 tokens per hour, the default threshold
// 256) gets 100 requests back to back, then 100 at one per second: every one is funded with its
// peak cap 512, whatever the arrival rate looks like.
TEST(PacerProperty, AFreshWindowServesItsFirstBurstAndTheTrickleAfter) {
  Pacer pacer({});
  const std::int64_t budget = 1'000'000;
  std::int64_t spent = 0;
  std::int64_t now = 0;
  for (int i = 0; i < 200; ++i) {
    now = i < 100 ? i : 100 + (i - 99) * 1000;
    const PacerDecision d = pacer.decide(256.0, now, {budget, budget - spent, 0, 3'600'000});
    ASSERT_TRUE(d.funded) << "request " << i;
    EXPECT_EQ(d.cap, 512) << "request " << i;
    spent += 400;  // each answer uses most of its cap, settled before the next arrives
  }
  EXPECT_EQ(pacer.state().abandoned, 0u);
}

// The trickle: 100,000 tokens per hour, one request every 3 s (about 3x the budget): the
// price rations it, nothing starves, and the budget is spent by the end of the hour.
TEST(PacerProperty, ASlowTrickleAboveTheBudgetIsRationedNotStarved) {
  std::vector<StreamQuery> stream = synthetic_stream(9, 1200);
  for (std::size_t i = 0; i < stream.size(); ++i) {
    stream[i].arrival_ms = static_cast<std::int64_t>(i) * 3000;
  }
  Pacer pacer({});
  const auto r =
      simulate(pacer, stream, {.budget = 100'000, .window_end_ms = 3'600'000, .settle_delay = 1});
  EXPECT_GE(r.funded, stream.size() / 3);
  EXPECT_GE(r.spent, 95'000);
  EXPECT_LE(r.max_committed, 100'000);
}

}  // namespace
}  // namespace clearhouse::gateway
