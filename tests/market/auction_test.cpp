// The reverse second-price auction (auction.h): individual rationality, the price cap, truthful
// bidding as a dominant strategy, and welfare against the pay-per-token market.
#include "market/auction.h"

#include <gtest/gtest.h>

#include <cmath>

#include "market/equilibrium.h"
#include "market/optimum.h"
#include "market/welfare.h"
#include "market_test_util.h"

namespace clearhouse::market {
namespace {

TEST(Auction, HandWorkedExample) {
  // Surplus w = q - c at each level; price per token is large so cost matters.
  const std::vector<Provider> providers = {
      {"a", 1e6, {{1, 0.5, 1.0}, {2, 0.8, 3.0}}},  // w: 5.5 - 0.8 = 4.7;  8.2 - 2.4 = 5.8
      {"b", 1e6, {{1, 0.6, 1.0}, {2, 0.7, 2.0}}},  // w: 6.4 - 0.8 = 5.6;  7.3 - 1.6 = 5.7
      {"c", 1e6, {{1, 0.1, 0.5}, {2, 0.2, 1.0}}},  // w: 1.9 - 0.4 = 1.5;  2.8 - 0.8 = 2.0
  };
  const Market m(providers, MarketParams{});
  const std::vector<Bid> bids = truthful_bids(m);
  EXPECT_EQ(bids[0].level, 1U);
  EXPECT_EQ(bids[1].level, 1U);
  const AuctionOutcome a = run_auction(m, bids);
  ASSERT_EQ(a.status, AuctionStatus::kSold);
  EXPECT_EQ(a.winner, 0U);
  EXPECT_EQ(a.runner_up, 1U);
  EXPECT_NEAR(a.winner_score, 5.8, 1e-12);
  EXPECT_NEAR(a.runner_up_score, 5.7, 1e-12);
  EXPECT_NEAR(a.price, 8.2 - 5.7, 1e-12);
  EXPECT_NEAR(a.user_value, 5.7, 1e-12);
  EXPECT_NEAR(a.winner_profit, 0.1, 1e-12);
  EXPECT_NEAR(a.social_welfare, 5.8, 1e-12);
}

TEST(Auction, WinnerProfitIsNonNegativeAndUserPaysAtMostQuality) {
  std::size_t sold = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const auto providers =
        testing::random_providers(seed, 2 + seed % 8, 2 + seed % 5, seed % 2 ? 1.0 : 1e4);
    const Market m(providers, MarketParams{});
    const AuctionOutcome a = run_auction(m, truthful_bids(m));
    if (a.status == AuctionStatus::kNoSale) {  // every surplus is negative at these prices
      EXPECT_LT(a.winner_score, 0.0);
      continue;
    }
    ASSERT_EQ(a.status, AuctionStatus::kSold);
    ++sold;
    const LevelEconomics& e = m.at(a.winner, a.winner_level);
    EXPECT_GE(a.winner_profit, 0.0);
    EXPECT_LE(a.price, e.quality);
    EXPECT_NEAR(a.user_value + a.winner_profit, a.social_welfare, 1e-9);
    EXPECT_NE(a.winner, a.runner_up);
    // The winner holds the largest surplus any provider can produce.
    for (std::size_t k = 0; k < m.size(); ++k) {
      for (std::size_t l = 0; l < m.levels(k); ++l) EXPECT_LE(m.at(k, l).surplus, a.winner_score);
    }
  }
  EXPECT_GT(sold, 150U);
}

// No provider gains by misreporting quality, cost or level, on a grid, whatever the others bid
// truthfully. Misreports shift the score; payoffs are always judged with true quality and cost.
TEST(Auction, TruthfulBiddingIsDominantOnAGridOfMisreports) {
  const std::vector<double> shifts = {-3.0, -1.0, -0.3, -0.05, -1e-3, 0.0,
                                      1e-3, 0.05, 0.3,  1.0,   3.0};
  std::size_t checked = 0;
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const auto providers = testing::random_providers(seed, 2 + seed % 4, 3, seed % 2 ? 1.0 : 1e5);
    const Market m(providers, MarketParams{});
    const std::vector<Bid> truth = truthful_bids(m);
    const AuctionOutcome honest = run_auction(m, truth);
    for (std::size_t k = 0; k < m.size(); ++k) {
      const double honest_payoff = auction_payoff(honest, k);
      for (std::size_t level = 0; level < m.levels(k); ++level) {
        for (double dq : shifts) {
          for (double dc : shifts) {
            std::vector<Bid> bids = truth;
            const LevelEconomics& e = m.at(k, level);
            bids[k] = Bid{level, e.quality + dq, e.cost + dc};
            const double lying = auction_payoff(run_auction(m, bids), k);
            EXPECT_LE(lying, honest_payoff + 1e-12)
                << "seed " << seed << " provider " << k << " level " << level << " dq " << dq
                << " dc " << dc;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 10000U);
}

TEST(Auction, WelfareIsAtLeastTheMarketsAtEquilibriumAndOptimum) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    const auto providers = testing::random_providers(seed, 2 + seed % 5, 4, seed % 2 ? 1.0 : 2e3);
    const Market m(providers, MarketParams{});
    const AuctionOutcome a = run_auction(m, truthful_bids(m));
    for (double beta : testing::test_betas()) {
      const Equilibrium eq = best_response_dynamics(m, beta, seeded_profile(m, seed));
      const Optimum opt = welfare_optimum(m, beta);
      EXPECT_GE(a.social_welfare, eq.social_welfare - 1e-12);
      EXPECT_GE(a.social_welfare, opt.social_welfare - 1e-12);
    }
  }
}

TEST(Auction, NeedsTwoBiddersAndAScoreAboveTheOutsideValue) {
  const std::vector<Provider> one = {{"a", 0.1, {{1, 0.5, 10}}}};
  const Market m1(one, MarketParams{});
  EXPECT_EQ(run_auction(m1, truthful_bids(m1)).status, AuctionStatus::kTooFewProviders);

  const std::vector<Provider> two = {{"a", 0.1, {{1, 0.5, 10}}}, {"b", 0.1, {{1, 0.4, 10}}}};
  MarketParams high_reserve;
  high_reserve.outside_value = 100.0;  // nobody can beat it
  const Market m2(two, high_reserve);
  EXPECT_EQ(run_auction(m2, truthful_bids(m2)).status, AuctionStatus::kNoSale);

  MarketParams reserve;
  reserve.outside_value = 5.0;  // between the two scores (5.5 and 4.6): the reserve sets the price
  const Market m3(two, reserve);
  const AuctionOutcome a = run_auction(m3, truthful_bids(m3));
  ASSERT_EQ(a.status, AuctionStatus::kSold);
  EXPECT_NEAR(a.user_value, 5.0, 1e-12);
  EXPECT_NEAR(a.price, m3.at(0, 0).quality - 5.0, 1e-12);
}

}  // namespace
}  // namespace clearhouse::market
