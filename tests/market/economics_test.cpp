// Prices, costs, quality curves, logit shares, utilities and the potential (welfare.h, logit.h).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "market/logit.h"
#include "market/market.h"
#include "market/quality.h"
#include "market/welfare.h"
#include "market_test_util.h"

namespace clearhouse::market {
namespace {

TEST(Quality, CurvesMatchTheirFormulas) {
  QualityModel q;  // A = 10, b = 0.1
  EXPECT_DOUBLE_EQ(q.quality(0.0), 1.0);
  EXPECT_DOUBLE_EQ(q.quality(1.0), 10.0);
  EXPECT_DOUBLE_EQ(q.quality(0.5), 10.0 * (0.1 + 0.9 * 0.5));
  q.curve = ValueCurve::kPower;
  EXPECT_NEAR(q.quality(0.5), 10.0 * (0.1 + 0.9 * std::pow(0.5, 3.5)), 1e-12);
  EXPECT_NEAR(q.quality(1.0), 10.0, 1e-12);
  q.curve = ValueCurve::kExp;
  EXPECT_NEAR(q.quality(0.5), 10.0 * (0.1 + 0.9 * (std::exp(3.0) - 1.0) / (std::exp(6.0) - 1.0)),
              1e-12);
  EXPECT_NEAR(q.quality(0.0), 1.0, 1e-12);
  EXPECT_NEAR(q.quality(1.0), 10.0, 1e-12);
}

TEST(Quality, ParsesNamesAndRejectsBadParameters) {
  EXPECT_EQ(parse_value_curve("power"), ValueCurve::kPower);
  EXPECT_FALSE(parse_value_curve("cubic").has_value());
  QualityModel q;
  EXPECT_TRUE(q.validate().empty());
  q.baseline = 1.5;
  EXPECT_FALSE(q.validate().empty());
}

TEST(Market, PriceCostValueFollowTheModel) {
  const std::vector<Provider> providers = {
      {"a", 0.2, {{64, 0.5, 100.0}, {128, 0.7, 200.0}}},
      {"b", 0.1, {{64, 0.4, 50.0}, {128, 0.6, 400.0}}},
  };
  const Market m(providers, MarketParams{});
  const LevelEconomics& e = m.at(0, 1);
  EXPECT_DOUBLE_EQ(e.price, 200.0 * 0.2e-6);
  EXPECT_DOUBLE_EQ(e.cost, e.price / 1.25);
  EXPECT_DOUBLE_EQ(e.quality, 10.0 * (0.1 + 0.9 * 0.7));
  EXPECT_DOUBLE_EQ(e.user_value, e.quality - e.price);
  EXPECT_DOUBLE_EQ(e.surplus, e.quality - e.cost);
  EXPECT_NEAR(std::exp(e.log_margin), e.price - e.cost, 1e-20);
  EXPECT_EQ(m.profile_count(), 4U);
}

TEST(Logit, SharesAreTheLogitFormulaAndSumWithTheOutsideOptionToOne) {
  const auto providers = testing::random_providers(3, 4, 3, 1e4);
  const Market m(providers, MarketParams{});
  const Profile p = {0, 2, 1, 1};
  for (double beta : {0.0, 0.5, 2.0}) {
    double z = std::exp(0.0);
    for (std::size_t k = 0; k < 4; ++k) z += std::exp(beta * m.at(k, p[k]).user_value);
    const std::vector<double> s = shares(m, p, beta);
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_NEAR(s[k], std::exp(beta * m.at(k, p[k]).user_value) / z, 1e-12);
    }
    EXPECT_NEAR(std::accumulate(s.begin(), s.end(), 0.0) + outside_share(m, p, beta), 1.0, 1e-12);
  }
  // beta = 0: five equal options.
  for (double s : shares(m, p, 0.0)) EXPECT_NEAR(s, 0.2, 1e-15);
}

TEST(Logit, HugeBetaStaysFiniteAndPicksTheBestValue) {
  const auto providers = testing::random_providers(5, 3, 4, 1.0);
  const Market m(providers, MarketParams{});
  const Profile p = {3, 1, 2};
  const double beta = 1e6;
  const std::vector<double> s = shares(m, p, beta);
  std::size_t best = 0;
  for (std::size_t k = 1; k < 3; ++k) {
    if (m.at(k, p[k]).user_value > m.at(best, p[best]).user_value) best = k;
  }
  EXPECT_NEAR(s[best], 1.0, 1e-9);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_TRUE(std::isfinite(log_share(m, p, beta, k)));
    EXPECT_TRUE(std::isfinite(log_provider_utility(m, p, beta, k)));
  }
  EXPECT_TRUE(std::isfinite(social_welfare(m, p, beta)));
  EXPECT_TRUE(std::isfinite(potential(m, p, beta)));
}

TEST(Welfare, UtilityAndWelfareAreShareWeighted) {
  const auto providers = testing::random_providers(9, 3, 3, 3e4);
  const Market m(providers, MarketParams{});
  const Profile p = {1, 0, 2};
  const double beta = 0.7;
  const std::vector<double> s = shares(m, p, beta);
  double sw = 0.0;
  for (std::size_t k = 0; k < 3; ++k) {
    const LevelEconomics& e = m.at(k, p[k]);
    EXPECT_NEAR(provider_utility(m, p, beta, k), s[k] * (e.price - e.cost), 1e-12);
    sw += s[k] * (e.quality - e.cost);
  }
  EXPECT_NEAR(social_welfare(m, p, beta), sw, 1e-12);
  const MarketSummary sum = summarize(m, p, beta);
  EXPECT_NEAR(sum.social_welfare, sw, 1e-12);
  // Welfare splits into what users keep and what providers earn.
  EXPECT_NEAR(sum.user_value + sum.provider_profit, sw, 1e-12);
}

// Phi is an exact potential: a unilateral change moves Phi by exactly the change in log utility.
TEST(Potential, IsExactForEveryUnilateralDeviation) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto providers = testing::random_providers(seed, 4, 4, seed % 2 == 0 ? 1.0 : 2e4);
    const Market m(providers, MarketParams{});
    const Profile base = seeded_profile(m, seed);
    for (double beta : {0.1, 1.0, 30.0, 1e4}) {
      const double phi = potential(m, base, beta);
      for (std::size_t k = 0; k < 4; ++k) {
        for (std::size_t l = 0; l < 4; ++l) {
          Profile q = base;
          q[k] = l;
          const double d_phi = potential(m, q, beta) - phi;
          const double d_u =
              log_provider_utility(m, q, beta, k) - log_provider_utility(m, base, beta, k);
          EXPECT_NEAR(d_phi, d_u, 1e-9 * std::max(1.0, std::abs(phi)));
        }
      }
    }
  }
}

}  // namespace
}  // namespace clearhouse::market
