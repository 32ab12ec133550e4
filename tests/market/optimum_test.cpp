// Welfare optimum (optimum.h): Dinkelbach, branch-and-bound and plain enumeration agree with a
// brute force over every profile, and the optimum is >= every profile's welfare.
#include "market/optimum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "market/equilibrium.h"
#include "market/welfare.h"
#include "market_test_util.h"

namespace clearhouse::market {
namespace {

TEST(Optimum, EveryMethodMatchesBruteForceAndDominatesEveryProfile) {
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    const std::size_t k = 2 + seed % 4;
    const std::size_t l = 2 + seed % 4;
    const double price_scale = seed % 3 == 0 ? 1.0 : 1e4 * static_cast<double>(seed % 7 + 1);
    const auto providers = testing::random_providers(seed, k, l, price_scale);
    MarketParams params;
    params.quality.curve = static_cast<ValueCurve>(seed % 3);
    const Market m(providers, params);
    for (double beta : testing::test_betas()) {
      const double brute = testing::brute_force_max_welfare(m, beta);
      const double tol = 1e-12 * std::max(1.0, std::abs(brute));
      const Optimum dk = welfare_optimum(m, beta);
      const Optimum bb = welfare_optimum_enumerate(m, beta, {true, 1});
      const Optimum en = welfare_optimum_enumerate(m, beta, {false, 1});
      const Optimum bb3 = welfare_optimum_enumerate(m, beta, {true, 3});
      for (const Optimum* o : {&dk, &bb, &en, &bb3}) {
        EXPECT_NEAR(o->social_welfare, brute, tol)
            << o->method << " seed " << seed << " beta " << beta;
        EXPECT_DOUBLE_EQ(o->social_welfare, social_welfare(m, o->profile, beta));
      }
      EXPECT_EQ(en.profiles_evaluated, m.profile_count());
      EXPECT_LE(dk.certificate, 1e-12 * std::max(1.0, std::abs(brute)));
      testing::for_each_profile(m, [&](const Profile& p) {
        EXPECT_LE(social_welfare(m, p, beta), dk.social_welfare + tol);
      });
    }
  }
}

TEST(Optimum, NineProvidersSixLevelsAgreeAcrossMethods) {
  const auto providers = testing::random_providers(77, 9, 6, 3e4);
  const Market m(providers, MarketParams{});
  for (double beta : {1.0, 1e3}) {
    const Optimum dk = welfare_optimum(m, beta);
    const Optimum bb = welfare_optimum_enumerate(m, beta, {true, 2});
    EXPECT_NEAR(dk.social_welfare, bb.social_welfare, 1e-12 * std::abs(dk.social_welfare));
    EXPECT_LT(bb.profiles_evaluated, m.profile_count());  // pruning did something
  }
}

TEST(Optimum, PriceOfAnarchyIsAtLeastOne) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto providers = testing::random_providers(seed, 3, 4, seed % 2 ? 1.0 : 2e3);
    const Market m(providers, MarketParams{});
    for (double beta : testing::test_betas()) {
      const Equilibrium eq = best_response_dynamics(m, beta, seeded_profile(m, seed));
      const Optimum opt = welfare_optimum(m, beta);
      EXPECT_GE(opt.social_welfare, eq.social_welfare);
      const double poa = price_of_anarchy(opt.social_welfare, eq.social_welfare);
      if (eq.social_welfare > 0.0) {
        ASSERT_TRUE(std::isfinite(poa));
        EXPECT_GE(poa, 1.0 - 1e-12);
      } else {
        EXPECT_TRUE(std::isnan(poa));
      }
    }
  }
  EXPECT_TRUE(std::isnan(price_of_anarchy(1.0, 0.0)));
}

TEST(Optimum, EquivalentLevelsResolveToTheLowest) {
  // Token caps past the longest answer repeat the same level: the optimum names the first.
  const std::vector<Provider> providers = {
      {"a", 0.1, {{64, 0.2, 50}, {128, 0.9, 100}, {256, 0.9, 100}}},
      {"b", 0.1, {{64, 0.3, 60}, {128, 0.5, 90}, {256, 0.5, 90}}},
  };
  const Market m(providers, MarketParams{});
  EXPECT_EQ(m.canonical_level(0, 2), 1U);
  const Optimum dk = welfare_optimum(m, 5.0);
  const Optimum en = welfare_optimum_enumerate(m, 5.0, {false, 1});
  // Provider a's best is its accurate level, named by the first of the two equal ones. (Provider
  // b's is its weakest level: a better b would only steal users from the more valuable a.)
  EXPECT_EQ(dk.profile, (Profile{1, 0}));
  EXPECT_EQ(en.profile, dk.profile);
  EXPECT_EQ(welfare_optimum_enumerate(m, 5.0, {true, 2}).profile, dk.profile);
}

}  // namespace
}  // namespace clearhouse::market
