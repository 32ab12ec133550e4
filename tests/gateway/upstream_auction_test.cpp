// The per-request upstream auction: who wins at a cap, and what the user pays.
#include "gateway/upstream_auction.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

namespace clearhouse::gateway {
namespace {

// A curve that saturates early (a strong model) and one that needs more tokens (a weak one).
AccuracyCurve strong_curve() {
  return AccuracyCurve({{128, 0.6}, {512, 0.9}, {2048, 0.95}});
}
AccuracyCurve weak_curve() {
  return AccuracyCurve({{128, 0.3}, {512, 0.5}, {2048, 0.6}});
}

TEST(UpstreamAuction, RejectsInvalidConfiguration) {
  EXPECT_THROW(UpstreamAuction({}, 1.0, 0.0), std::invalid_argument);
  EXPECT_THROW(UpstreamAuction({{"a", -1e-6, {}}}, 1.0, 0.0), std::invalid_argument);
  EXPECT_THROW(UpstreamAuction({{"a", 1e-6, {}}}, -1.0, 0.0), std::invalid_argument);
  EXPECT_THROW(UpstreamAuction({{"a", 1e-6, {}}}, 1.0, -0.1), std::invalid_argument);
  EXPECT_THROW(UpstreamAuction({{"a", std::nan(""), {}}}, 1.0, 0.0), std::invalid_argument);
}

TEST(UpstreamAuction, CheaperOfEqualQualityWins) {
  const UpstreamAuction auction(
      {{"dear", 2e-6, strong_curve()}, {"cheap", 1e-6, strong_curve()}, {"dearer", 3e-6, {}}}, 0.01,
      0.0);
  const AuctionPick pick = auction.pick(1024);
  EXPECT_EQ(pick.winner, 1u);
  ASSERT_TRUE(pick.runner_up.has_value());
  EXPECT_EQ(*pick.runner_up, 0u);
  EXPECT_TRUE(pick.sold);
  const double q = 0.01 * strong_curve().at(1024);
  EXPECT_DOUBLE_EQ(pick.winner_quality_usd, q);
  EXPECT_DOUBLE_EQ(pick.winner_score_usd, q - 1e-6 * 1024);
  EXPECT_DOUBLE_EQ(pick.runner_up_score_usd, q - 2e-6 * 1024);
}

TEST(UpstreamAuction, BetterCurveWinsWhenTheValueIsHighAndLosesWhenLow) {
  const std::vector<UpstreamBidder> bidders{{"weak-cheap", 1e-7, weak_curve()},
                                            {"strong-dear", 5e-6, strong_curve()}};
  // At 1024 tokens: accuracy gap about 0.33, cost gap about 0.005 USD.
  EXPECT_EQ(UpstreamAuction(bidders, 1.0, 0.0).pick(1024).winner, 1u);
  EXPECT_EQ(UpstreamAuction(bidders, 0.001, 0.0).pick(1024).winner, 0u);
}

TEST(UpstreamAuction, TiesGoToTheLowerIndex) {
  const UpstreamAuction auction({{"a", 1e-6, {}}, {"b", 1e-6, {}}, {"c", 1e-6, {}}}, 0.01, 0.0);
  const AuctionPick pick = auction.pick(500);
  EXPECT_EQ(pick.winner, 0u);
  EXPECT_EQ(pick.runner_up, std::optional<std::size_t>{1});
  // A tie below a better bidder: the runner-up is the lower index of the tied ones.
  const UpstreamAuction second({{"a", 1e-6, {}}, {"b", 1e-6, {}}, {"best", 0.0, {}}}, 0.01, 0.0);
  const AuctionPick p2 = second.pick(500);
  EXPECT_EQ(p2.winner, 2u);
  EXPECT_EQ(p2.runner_up, std::optional<std::size_t>{0});
}

TEST(UpstreamAuction, SingleUpstreamAlwaysWinsAndPaysItsPostedPrice) {
  // Its score is far below the outside value, yet it is used.
  const UpstreamAuction auction({{"only", 1e-3, weak_curve()}}, 0.001, 0.5);
  const AuctionPick pick = auction.pick(2000);
  EXPECT_EQ(pick.winner, 0u);
  EXPECT_FALSE(pick.runner_up.has_value());
  EXPECT_TRUE(pick.sold);
  EXPECT_DOUBLE_EQ(auction.payment_usd(pick, 2000, 750), 1e-3 * 750);
}

TEST(UpstreamAuction, NoSaleWhenNoScoreReachesTheOutsideValue) {
  const UpstreamAuction auction({{"a", 1e-5, {}}, {"b", 2e-5, {}}}, 0.01, 0.005);
  EXPECT_FALSE(auction.pick(1000).sold);     // best score 0.01 - 0.01 = 0 < 0.005
  EXPECT_TRUE(auction.pick(100).sold);       // 0.01 - 0.001 = 0.009
  EXPECT_EQ(auction.pick(1000).winner, 0u);  // the best is still named
}

TEST(UpstreamAuction, PaymentIsTheSecondPriceAtTheTokensUsed) {
  const UpstreamAuction auction({{"a", 1e-6, strong_curve()}, {"b", 4e-6, weak_curve()}}, 0.02,
                                0.0);
  const AuctionPick pick = auction.pick(1024);
  ASSERT_EQ(pick.winner, 0u);
  const double q_win = 0.02 * strong_curve().at(1024);
  const double s_second_at_used = 0.02 * weak_curve().at(1024) - 4e-6 * 600;
  EXPECT_DOUBLE_EQ(auction.payment_usd(pick, 1024, 600), q_win - s_second_at_used);
  // With a high outside value the user keeps v0 instead.
  const UpstreamAuction reserve({{"a", 1e-6, strong_curve()}, {"b", 4e-6, weak_curve()}}, 0.02,
                                0.015);
  EXPECT_DOUBLE_EQ(reserve.payment_usd(reserve.pick(1024), 1024, 600), q_win - 0.015);
}

// Random markets: every sold payment lies between the winner's cost for the tokens used and its
// quality, and it does not move when the winner reports another price it would still win with.
TEST(UpstreamAuction, PaymentsAreBoundedAndIndependentOfTheWinnersOwnPrice) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> price(1e-7, 1e-5);
  std::uniform_real_distribution<double> acc(0.05, 0.95);
  std::uniform_int_distribution<std::int64_t> cap_dist(64, 4096);
  int checked_truthfulness = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<UpstreamBidder> bidders;
    const int n = 2 + trial % 3;
    for (int k = 0; k < n; ++k) {
      const double a = acc(rng);
      bidders.push_back(
          {"u" + std::to_string(k), price(rng),
           AccuracyCurve({{256, a * 0.6}, {1024, a}, {4096, std::min(1.0, a * 1.1)}})});
    }
    const double value = 0.05;
    const UpstreamAuction auction(bidders, value, 0.0);
    const std::int64_t cap = cap_dist(rng);
    const AuctionPick pick = auction.pick(cap);
    if (!pick.sold) continue;
    for (const std::int64_t used : {cap, cap / 2, cap / 10}) {
      const double pay = auction.payment_usd(pick, cap, used);
      const double cost = bidders[pick.winner].usd_per_token * static_cast<double>(used);
      EXPECT_GE(pay, cost - 1e-15);
      if (used == cap) {
        EXPECT_LE(pay, pick.winner_quality_usd + 1e-15);
      }
    }
    // Truthfulness spot check: the winner shades its price by 30% either way; if it still wins,
    // it pays the same (at the full cap, where the posted-price floor never binds).
    for (const double factor : {0.7, 1.3}) {
      std::vector<UpstreamBidder> shaded = bidders;
      shaded[pick.winner].usd_per_token *= factor;
      const UpstreamAuction other(shaded, value, 0.0);
      const AuctionPick p2 = other.pick(cap);
      if (p2.winner != pick.winner || !p2.sold) continue;
      ++checked_truthfulness;
      EXPECT_NEAR(other.payment_usd(p2, cap, cap), auction.payment_usd(pick, cap, cap), 1e-12);
    }
  }
  EXPECT_GT(checked_truthfulness, 500);
}

// Only the upstreams that serve the model and may be called bid; the ranking is the order a failed
// request is retried in: the winner, its runner-up, then the rest.
TEST(UpstreamAuction, AmongEligibleUpstreamsOnly) {
  const UpstreamAuction auction(
      {{"cheapest", 1e-7, {}}, {"dear", 3e-6, {}}, {"cheap", 1e-6, {}}, {"dearest", 5e-6, {}}},
      0.01, 0.0);
  const std::vector<std::size_t> all{0, 1, 2, 3};
  EXPECT_EQ(auction.rank(1000, all), (std::vector<std::size_t>{0, 2, 1, 3}));
  const std::vector<std::size_t> without_cheapest{1, 2, 3};
  const AuctionPick pick = auction.pick(1000, without_cheapest, false);
  EXPECT_EQ(pick.winner, 2u);
  EXPECT_EQ(pick.runner_up, std::optional<std::size_t>{1});
  EXPECT_EQ(auction.rank(1000, without_cheapest), (std::vector<std::size_t>{2, 1, 3}));
  // The second price is the eligible runner-up's, not the excluded cheapest one's.
  EXPECT_DOUBLE_EQ(auction.payment_usd(pick, 1000, 1000), 0.01 - (0.01 - 3e-6 * 1000));
  const std::vector<std::size_t> one{3};
  const AuctionPick alone = auction.pick(1000, one, false);
  EXPECT_EQ(alone.winner, 3u);
  EXPECT_FALSE(alone.runner_up.has_value());
  // Ties keep the lower index, in the ranking as in the pick.
  const UpstreamAuction tied({{"a", 1e-6, {}}, {"b", 1e-6, {}}, {"c", 1e-6, {}}}, 0.01, 0.0);
  const std::vector<std::size_t> bc{1, 2};
  EXPECT_EQ(tied.rank(10, bc), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(tied.pick(10, bc, false).winner, 1u);
}

TEST(UpstreamAuction, ASoleUpstreamForTheModelIsSoldAnotherLeftAloneIsNot) {
  // Both score below the outside value.
  const UpstreamAuction auction({{"a", 1e-5, {}}, {"b", 2e-5, {}}}, 0.01, 0.005);
  const std::vector<std::size_t> only_b{1};
  EXPECT_TRUE(auction.pick(1000, only_b, /*sole_upstream=*/true).sold);
  // b is the only one left (a is down) of two serving the model: the reserve still applies.
  EXPECT_FALSE(auction.pick(1000, only_b, /*sole_upstream=*/false).sold);
}

// The ranking agrees with the pick on random markets: its head is the winner, then the runner-up.
TEST(UpstreamAuction, RankingStartsWithTheWinnerAndTheRunnerUp) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> price(1e-7, 1e-5);
  std::uniform_real_distribution<double> acc(0.05, 0.95);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<UpstreamBidder> bidders;
    for (int k = 0; k < 5; ++k) {
      const double a = acc(rng);
      bidders.push_back({"u" + std::to_string(k), price(rng), AccuracyCurve({{256, a}})});
    }
    const UpstreamAuction auction(bidders, 0.05, 0.0);
    std::vector<std::size_t> eligible;
    for (std::size_t k = 0; k < bidders.size(); ++k) {
      if (rng() % 3 != 0) eligible.push_back(k);
    }
    if (eligible.empty()) continue;
    const std::vector<std::size_t> order = auction.rank(512, eligible);
    const AuctionPick pick = auction.pick(512, eligible, false);
    ASSERT_EQ(order.size(), eligible.size());
    EXPECT_EQ(order[0], pick.winner);
    if (order.size() > 1) {
      EXPECT_EQ(std::optional<std::size_t>(order[1]), pick.runner_up);
    }
  }
}

}  // namespace
}  // namespace clearhouse::gateway
