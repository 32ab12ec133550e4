// The progressive replay: continuation is exact (a continued answer yields exactly its remaining
// tokens), no token is spent on a finished query, every round counts against the budget, and a
// query is solved iff it finished within its max_tokens and was recorded correct.
#include "eval/progressive_replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/policy_registry.h"
#include "eval/bench_grid.h"

namespace clearhouse::eval {
namespace {

std::vector<ReplayItem> random_items(std::mt19937_64& rng, std::size_t n) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::lognormal_distribution<double> length(std::log(250.0), 0.9), noise(0.0, 0.4);
  std::vector<ReplayItem> items(n);
  for (auto& item : items) {
    item.true_tokens = std::min(4096.0, std::max(1.0, std::round(length(rng))));
    item.tau_hat = std::max(1.0, item.true_tokens * noise(rng));
    item.log_sigma = 0.4;
    item.p_correct = 0.2 + 0.8 * unit(rng);
    item.log_mu_correct = std::log(item.tau_hat) - 0.2;
    item.log_sigma_correct = 0.35;
    item.correct = unit(rng) < item.p_correct;
  }
  return items;
}

TEST(ProgressiveReplay, NeverSpendsATokenOnAFinishedQueryAndEveryRoundCounts) {
  std::mt19937_64 rng(7);
  for (int k = 0; k < 40; ++k) {
    const auto items = random_items(rng, 120);
    const std::int64_t budget = (16 + 40 * (k % 10)) * 120;
    const ProgressiveSettings settings{4096, static_cast<CorrectnessBelief>(k % 3)};
    const ProgressiveOutcome r = replay_progressive(items, budget, settings, true);
    std::map<std::size_t, std::int64_t> generated;
    std::map<std::size_t, bool> finished;
    double charged = 0.0;
    for (const ServedSlice& s : r.trace) {
      const std::size_t q = s.slice.query;
      ASSERT_FALSE(finished[q]) << "query " << q << " served after it finished";
      ASSERT_EQ(s.slice.offset, generated[q]) << "continuation starts where the answer stopped";
      const auto remaining = static_cast<std::int64_t>(items[q].true_tokens) - s.slice.offset;
      ASSERT_EQ(s.generated, std::min(s.slice.cap, remaining));
      ASSERT_EQ(s.finished, remaining <= s.slice.cap);
      generated[q] += s.generated;
      finished[q] = s.finished;
      charged += static_cast<double>(s.generated);
    }
    EXPECT_EQ(r.slices, r.trace.size());
    EXPECT_EQ(r.outcome.requests, r.slices);
    EXPECT_DOUBLE_EQ(r.outcome.consumed, charged);
    EXPECT_EQ(r.outcome.allocated, static_cast<std::int64_t>(charged));
    EXPECT_LE(r.outcome.allocated, budget);
    std::size_t solved = 0, abandoned = 0, unfinished = 0;
    double wasted = 0.0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (finished[i] && items[i].correct) ++solved;
      if (generated[i] == 0) ++abandoned;
      if (!finished[i] && generated[i] > 0) {
        ++unfinished;
        wasted += static_cast<double>(generated[i]);
      }
    }
    EXPECT_EQ(r.outcome.solved, solved);
    EXPECT_EQ(r.outcome.abandoned, abandoned);
    EXPECT_EQ(r.unfinished, unfinished);
    EXPECT_DOUBLE_EQ(r.wasted, wasted);
  }
}

// The length oracle's caps from the policy registry (every answer fits the default max_cap).
std::vector<std::int64_t> length_oracle_caps(const std::vector<ReplayItem>& items,
                                             std::int64_t budget) {
  std::vector<double> lengths;
  for (const ReplayItem& item : items) lengths.push_back(item.true_tokens);
  core::PolicyInputs inputs;
  inputs.queries = items.size();
  inputs.tokens_needed = lengths;
  inputs.max_cap = PolicySettings{}.max_cap;
  return core::run_policy(core::Policy::kLengthOracle, inputs, budget).caps;
}

TEST(ProgressiveReplay, FinishesNoMoreQueriesThanTheShortestLengthsThatFit) {
  // Every finished query used its whole length, so no schedule finishes more queries than the
  // length oracle, which funds the shortest lengths first.
  std::mt19937_64 rng(8);
  for (int k = 0; k < 40; ++k) {
    auto items = random_items(rng, 100);
    for (auto& item : items) item.correct = true;
    const std::int64_t budget = (32 + 50 * (k % 8)) * 100;
    const auto progressive =
        replay_progressive(items, budget, {.correctness = CorrectnessBelief::kNone}).outcome;
    const auto oracle = replay(items, length_oracle_caps(items, budget));
    EXPECT_LE(progressive.solved, oracle.solved) << budget;
  }
}

TEST(ProgressiveReplay, AQueryLongerThanItsMaxTokensNeverCounts) {
  std::vector<ReplayItem> items(2);
  items[0] = {.tau_hat = 100, .log_sigma = 0.3, .true_tokens = 100, .correct = true};
  items[1] = {.tau_hat = 100, .log_sigma = 0.3, .true_tokens = 300, .correct = true};
  const auto r = replay_progressive(items, 10'000, {.max_cap = 200});
  EXPECT_EQ(r.outcome.solved, 1u);
  EXPECT_EQ(r.unfinished, 1u);
  EXPECT_DOUBLE_EQ(r.wasted, 200.0);
  EXPECT_DOUBLE_EQ(r.outcome.consumed, 300.0);
}

TEST(ProgressiveReplay, CalibratedPriorsCarryPCorrectOnlyWhenAskedTo) {
  std::vector<ReplayItem> items(1);
  items[0] = {.tau_hat = 80, .log_sigma = 0.6, .p_correct = 0.3};
  EXPECT_EQ(progressive_priors(items, {.correctness = CorrectnessBelief::kNone})[0].p_correct, 1.0);
  const auto calibrated =
      progressive_priors(items, {.correctness = CorrectnessBelief::kPCorrect})[0];
  EXPECT_EQ(calibrated.p_correct, 0.3);
  EXPECT_NEAR(calibrated.log_mu, std::log(80.0), 1e-12);
  EXPECT_EQ(calibrated.log_sigma, 0.6);
  EXPECT_FALSE(calibrated.correct.has_value());
  items[0].log_mu_correct = 4.0;
  items[0].log_sigma_correct = 0.3;
  const auto aware =
      progressive_priors(items, {.correctness = CorrectnessBelief::kCorrectLength})[0];
  ASSERT_TRUE(aware.correct.has_value());
  EXPECT_EQ(aware.correct->log_mu, 4.0);
  EXPECT_EQ(aware.correct->log_sigma, 0.3);
  EXPECT_EQ(aware.p_correct, 0.3);
}

TEST(BenchGridPolicies, ProgressiveAndTheLengthOracleAreInTheGrid) {
  ASSERT_NE(core::find_policy("progressive"), nullptr);
  ASSERT_NE(core::find_policy("length-oracle"), nullptr);
  EXPECT_TRUE(core::find_policy("progressive")->continuation);
  EXPECT_FALSE(core::find_policy("length-oracle")->continuation);
  std::mt19937_64 rng(9);
  const auto items = random_items(rng, 50);
  const auto out = evaluate_policy(core::Policy::kProgressive, items, 50 * 128, {});
  EXPECT_EQ(out.solved, replay_progressive(items, 50 * 128, {}).outcome.solved);
  // The length oracle: every funded cap is exactly its query's length, shortest first.
  const auto caps = length_oracle_caps(items, 50 * 128);
  double longest_funded = 0.0, shortest_unfunded = 1e9;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (caps[i] > 0) {
      EXPECT_EQ(static_cast<double>(caps[i]), items[i].true_tokens);
      longest_funded = std::max(longest_funded, items[i].true_tokens);
    } else {
      shortest_unfunded = std::min(shortest_unfunded, items[i].true_tokens);
    }
  }
  EXPECT_LE(longest_funded, shortest_unfunded);
}

}  // namespace
}  // namespace clearhouse::eval
