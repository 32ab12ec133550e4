#include "core/policies.h"

#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <vector>

#include "core/integerize.h"
#include "core/policy_registry.h"

namespace clearhouse::core {
namespace {

std::int64_t sum(const std::vector<std::int64_t>& v) {
  return total_tokens(v);
}

TEST(Policies, NamesRoundTrip) {
  for (const Policy p :
       {Policy::kUniform, Policy::kPredictor, Policy::kTaleEp, Policy::kClearHeuristic,
        Policy::kClearAuction, Policy::kClear, Policy::kOracle}) {
    EXPECT_EQ(parse_policy(to_string(p)), p);
  }
  EXPECT_FALSE(parse_policy("greedy").has_value());
}

TEST(Policies, UniformSplitsEvenlyAndGivesTheRemainderToTheFirst) {
  EXPECT_EQ(allocate_uniform(4, 10), (std::vector<std::int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(allocate_uniform(0, 10).size(), 0u);
}

TEST(Policies, ProportionalIsExactAndRespectsClips) {
  const std::vector<double> need{100, 200, 700};
  EXPECT_EQ(allocate_proportional(need, 1000), (std::vector<std::int64_t>{100, 200, 700}));
  EXPECT_EQ(allocate_proportional(need, 500), (std::vector<std::int64_t>{50, 100, 350}));
  // Clip at 300: the rest is renormalised over the others.
  const auto clipped = allocate_proportional(need, 1000, {0.0, 300.0});
  EXPECT_EQ(clipped[2], 300);
  EXPECT_EQ(sum(clipped), 900);  // 3 x 300 < 1000: everyone at the max
  const auto floor = allocate_proportional(need, 500, {120.0, 1000.0});
  EXPECT_EQ(sum(floor), 500);
  for (auto c : floor) EXPECT_GE(c, 120);
}

// eta = (600/4)/250 = 0.6 < 0.8: needs above the median (250) get nothing; survivors 100 and 200
// share 600 as need + (600 - 300)/2 = 250 and 350.
TEST(Policies, HeuristicCutsAboveMedianWhenScarce) {
  const std::vector<double> need{100, 200, 300, 400};
  EXPECT_EQ(allocate_clear_heuristic(need, 600), (std::vector<std::int64_t>{250, 350, 0, 0}));
  // Not scarce (eta = 1): everyone gets need + 0.
  EXPECT_EQ(allocate_clear_heuristic(need, 1000), (std::vector<std::int64_t>{100, 200, 300, 400}));
}

// Sorted prefix 100 + 200 + 300 = 600 <= 650 < 1000; survivors share 650: +50/3 each.
TEST(Policies, AuctionKeepsTheLongestAffordablePrefix) {
  const std::vector<double> need{400, 100, 300, 200};
  const auto caps = allocate_clear_auction(need, 650);
  EXPECT_EQ(caps[0], 0);
  EXPECT_EQ(sum(caps), 650);
  EXPECT_EQ(caps[1] + caps[2] + caps[3], 650);
  EXPECT_NEAR(static_cast<double>(caps[1]), 116.67, 1.0);
  // Nothing fits: the paper's m >= 1 keeps the cheapest query.
  const auto one = allocate_clear_auction(need, 50);
  EXPECT_EQ(one[1], 50);
  EXPECT_EQ(sum(one), 50);
}

TEST(Policies, OracleFundsCorrectQueriesShortestFirst) {
  const std::vector<double> tokens{50, 10, 30, 20};
  const std::vector<std::uint8_t> correct{1, 1, 0, 1};
  EXPECT_EQ(allocate_oracle(tokens, correct, 35), (std::vector<std::int64_t>{0, 10, 0, 20}));
  EXPECT_EQ(allocate_oracle(tokens, correct, 1000), (std::vector<std::int64_t>{50, 10, 0, 20}));
}

TEST(Policies, EveryPolicyStaysWithinBudgetWithWholeNonNegativeCaps) {
  std::mt19937_64 rng(17);
  std::lognormal_distribution<double> draw(5.5, 0.8);
  std::uniform_int_distribution<int> size(1, 80);
  std::uniform_int_distribution<std::int64_t> per_query(1, 600);
  for (int k = 0; k < 2000; ++k) {
    const std::size_t n = static_cast<std::size_t>(size(rng));
    std::vector<double> need(n), truth(n);
    std::vector<std::uint8_t> correct(n);
    for (std::size_t i = 0; i < n; ++i) {
      need[i] = std::max(1.0, draw(rng));
      truth[i] = std::round(draw(rng));
      correct[i] = static_cast<std::uint8_t>(rng() % 2);
    }
    const std::int64_t budget = per_query(rng) * static_cast<std::int64_t>(n);
    for (const auto& caps :
         {allocate_uniform(n, budget), allocate_proportional(need, budget),
          allocate_clear_heuristic(need, budget), allocate_clear_auction(need, budget),
          allocate_oracle(truth, correct, budget)}) {
      ASSERT_EQ(caps.size(), n);
      for (auto c : caps) ASSERT_GE(c, 0);
      ASSERT_LE(sum(caps), budget) << "instance " << k;
    }
    EXPECT_EQ(sum(allocate_uniform(n, budget)), budget);
    EXPECT_EQ(sum(allocate_proportional(need, budget)), budget);
    EXPECT_EQ(sum(allocate_clear_heuristic(need, budget)), budget);
    EXPECT_EQ(sum(allocate_clear_auction(need, budget)), budget);
  }
}

TEST(Integerize, RoundToTotalUsesLargestRemaindersAndLowerIndexOnTies) {
  const std::vector<double> shares{1.5, 1.5, 2.9, 0.1};
  EXPECT_EQ(round_to_total(shares, 6), (std::vector<std::int64_t>{2, 1, 3, 0}));
  const std::vector<double> noisy{3.0000000001, 3.0};
  EXPECT_EQ(total_tokens(round_to_total(noisy, 6)), 6);
}

// Only the largest need stays positive: c = 60 - 100 = -40 (20 - 40 < 0 is clipped).
TEST(Integerize, WaterLevelClipsAtZero) {
  const std::vector<double> need{10, 20, 100};
  EXPECT_DOUBLE_EQ(water_level(need, 60.0), -40.0);
  // Everyone positive: c = (330 - 130) / 3.
  EXPECT_DOUBLE_EQ(water_level(need, 330.0), 200.0 / 3.0);
}

}  // namespace
}  // namespace clearhouse::core
