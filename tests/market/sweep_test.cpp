// The beta sweep (sweep.h): log spacing, determinism across thread counts and seeds, and agreement
// of the optimum methods inside a sweep.
#include "market/sweep.h"

#include <gtest/gtest.h>

#include <cmath>

#include "market_test_util.h"

namespace clearhouse::market {
namespace {

TEST(Sweep, LogSpacedHitsBothEndsAndIsGeometric) {
  const std::vector<double> b = log_spaced(1.0, 1e6, 100);
  ASSERT_EQ(b.size(), 100U);
  EXPECT_EQ(b.front(), 1.0);
  EXPECT_EQ(b.back(), 1e6);
  for (std::size_t i = 1; i < b.size(); ++i)
    EXPECT_NEAR(b[i] / b[i - 1], std::pow(1e6, 1.0 / 99.0), 1e-12);
  EXPECT_EQ(log_spaced(3.0, 5.0, 1), std::vector<double>{3.0});
  EXPECT_TRUE(log_spaced(3.0, 5.0, 0).empty());
}

TEST(Sweep, ResultsDoNotDependOnThreads) {
  const auto providers = testing::random_providers(21, 6, 5, 2e3);
  const Market m(providers, MarketParams{});
  const std::vector<double> betas = log_spaced(0.1, 1e5, 37);
  SweepOptions one;
  one.seed = 5;
  SweepOptions three = one;
  three.threads = 3;
  const auto a = sweep(m, betas, one);
  const auto b = sweep(m, betas, three);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].beta, b[i].beta);
    EXPECT_EQ(a[i].equilibrium.profile, b[i].equilibrium.profile);
    EXPECT_EQ(a[i].optimum.profile, b[i].optimum.profile);
    EXPECT_EQ(a[i].equilibrium.social_welfare, b[i].equilibrium.social_welfare);
    EXPECT_EQ(a[i].optimum.social_welfare, b[i].optimum.social_welfare);
  }
}

TEST(Sweep, EveryMethodGivesTheSameOptimumAndPriceOfAnarchy) {
  const auto providers = testing::random_providers(8, 5, 4, 1e4);
  const Market m(providers, MarketParams{});
  const std::vector<double> betas = log_spaced(1.0, 1e6, 9);
  SweepOptions options;
  const auto dk = sweep(m, betas, options);
  options.optimum = OptimumMethod::kBranchAndBound;
  options.threads = 2;
  const auto bb = sweep(m, betas, options);
  options.optimum = OptimumMethod::kEnumeration;
  const auto en = sweep(m, betas, options);
  for (std::size_t i = 0; i < betas.size(); ++i) {
    const double x = dk[i].optimum.social_welfare;
    EXPECT_NEAR(bb[i].optimum.social_welfare, x, 1e-12 * std::abs(x));
    EXPECT_NEAR(en[i].optimum.social_welfare, x, 1e-12 * std::abs(x));
    EXPECT_EQ(dk[i].equilibrium.profile, en[i].equilibrium.profile);  // same seeded starts
    if (std::isfinite(dk[i].price_of_anarchy)) {
      EXPECT_NEAR(dk[i].price_of_anarchy, en[i].price_of_anarchy, 1e-12 * dk[i].price_of_anarchy);
    }
    EXPECT_NEAR(dk[i].at_optimum.social_welfare, x, 1e-12 * std::abs(x));
  }
}

TEST(Sweep, EquilibriaFromEverySeedAreEquilibria) {
  const auto providers = testing::random_providers(13, 4, 4, 3e4);
  const Market m(providers, MarketParams{});
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const BetaResult r = solve_beta(m, 2.0, seed, SweepOptions{});
    EXPECT_EQ(r.equilibrium.status, EquilibriumStatus::kConverged);
    EXPECT_LE(max_regret(m, r.equilibrium.profile, 2.0).log_utility_gain, 1e-12);
    EXPECT_GE(r.price_of_anarchy, 1.0 - 1e-12);
  }
}

}  // namespace
}  // namespace clearhouse::market
