// The second-price rule shared by the market simulator and the gateway (second_price.h): the
// ranking against a sort-based reference on random scores with ties, and the payment's terms.
#include "market/second_price.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

namespace clearhouse::market {
namespace {

TEST(SecondPrice, RankingMatchesAStableSortOnRandomScoresWithTies) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const std::size_t n = 1 + rng() % 6;
    std::vector<double> scores(n);
    // Few distinct values, so ties are common.
    for (double& s : scores) s = static_cast<double>(rng() % 4) - 1.0;
    const ScoreRanking r = rank_by_score(n, [&](std::size_t k) { return scores[k]; });
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    ASSERT_EQ(r.winner, order[0]) << trial;
    EXPECT_EQ(r.winner_score, scores[order[0]]);
    if (n == 1) {
      EXPECT_FALSE(r.runner_up.has_value());
      EXPECT_EQ(r.runner_up_score, 0.0);
    } else {
      ASSERT_TRUE(r.runner_up.has_value());
      EXPECT_EQ(*r.runner_up, order[1]) << trial;
      EXPECT_EQ(r.runner_up_score, scores[order[1]]);
    }
  }
}

TEST(SecondPrice, TheUserKeepsTheRunnerUpScoreOrTheOutsideValue) {
  EXPECT_TRUE(second_price_sells(0.5, 0.5));
  EXPECT_FALSE(second_price_sells(0.4, 0.5));
  EXPECT_DOUBLE_EQ(second_price_user_keeps(0.3, 0.1), 0.3);
  EXPECT_DOUBLE_EQ(second_price_user_keeps(0.3, 0.4), 0.4);
  // q_win = 1.0: pays 1.0 - 0.3 when the runner-up beats v0, 1.0 - 0.4 when it does not.
  EXPECT_DOUBLE_EQ(second_price_payment(1.0, 0.3, 0.1), 0.7);
  EXPECT_DOUBLE_EQ(second_price_payment(1.0, 0.3, 0.4), 0.6);
}

}  // namespace
}  // namespace clearhouse::market
