// Best-response dynamics (equilibrium.h): the potential rises at every improving step, and the
// profile returned admits no profitable unilateral deviation.
#include "market/equilibrium.h"

#include <gtest/gtest.h>

#include <cmath>

#include "market/welfare.h"
#include "market_test_util.h"

namespace clearhouse::market {
namespace {

struct Case {
  std::uint64_t seed;
  std::size_t providers;
  std::size_t levels;
  double price_scale;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (std::uint64_t seed = 0; seed < 24; ++seed) {
    out.push_back({seed, 2 + seed % 6, 2 + seed % 5,
                   seed % 3 == 0 ? 1.0 : 1e4 * static_cast<double>(1 + seed % 4)});
  }
  return out;
}

TEST(BestResponse, PotentialRisesAtEveryImprovingStep) {
  std::size_t steps = 0;
  for (const Case& c : cases()) {
    const auto providers = testing::random_providers(c.seed, c.providers, c.levels, c.price_scale);
    const Market m(providers, MarketParams{});
    for (double beta : testing::test_betas()) {
      std::vector<BestResponseStep> trace;
      const Equilibrium eq = best_response_dynamics(m, beta, seeded_profile(m, c.seed), &trace);
      ASSERT_EQ(eq.status, EquilibriumStatus::kConverged);
      EXPECT_EQ(eq.moves, trace.size());
      for (const BestResponseStep& s : trace) {
        EXPECT_GT(s.log_utility_gain, 0.0);
        EXPECT_GT(s.potential_after, s.potential_before)
            << "seed " << c.seed << " beta " << beta << " provider " << s.provider;
        // Exact potential: the rise equals the mover's gain in log utility.
        EXPECT_NEAR(s.potential_after - s.potential_before, s.log_utility_gain,
                    1e-9 * std::max(1.0, std::abs(s.potential_before)));
      }
      steps += trace.size();
    }
  }
  EXPECT_GT(steps, 100U);  // the property was exercised, not vacuous
}

TEST(BestResponse, EquilibriumAdmitsNoProfitableDeviation) {
  for (const Case& c : cases()) {
    const auto providers = testing::random_providers(c.seed, c.providers, c.levels, c.price_scale);
    const Market m(providers, MarketParams{});
    for (double beta : testing::test_betas()) {
      const Equilibrium eq = best_response_dynamics(m, beta, seeded_profile(m, c.seed + 99));
      ASSERT_EQ(eq.status, EquilibriumStatus::kConverged);
      // Check in plain utilities, the way a reader of the paper would.
      for (std::size_t k = 0; k < m.size(); ++k) {
        const double u = provider_utility(m, eq.profile, beta, k);
        for (std::size_t l = 0; l < m.levels(k); ++l) {
          Profile dev = eq.profile;
          dev[k] = l;
          EXPECT_LE(provider_utility(m, dev, beta, k), u * (1.0 + 1e-12) + 1e-300)
              << "seed " << c.seed << " beta " << beta << " provider " << k << " level " << l;
        }
      }
      EXPECT_LE(max_regret(m, eq.profile, beta).log_utility_gain, 1e-12);
      EXPECT_DOUBLE_EQ(eq.social_welfare, social_welfare(m, eq.profile, beta));
    }
  }
}

TEST(BestResponse, IsABestReplyToTheOthers) {
  const auto providers = testing::random_providers(4, 3, 5, 2e4);
  const Market m(providers, MarketParams{});
  const Profile p = {0, 4, 2};
  for (std::size_t k = 0; k < 3; ++k) {
    const BestResponse br = best_response(m, p, 1.0, k);
    Profile q = p;
    q[k] = br.level;
    for (std::size_t l = 0; l < 5; ++l) {
      Profile r = p;
      r[k] = l;
      EXPECT_LE(log_provider_utility(m, r, 1.0, k), log_provider_utility(m, q, 1.0, k) + 1e-12);
    }
  }
}

TEST(BestResponse, AtLowRationalityProvidersMaxOutTokens) {
  // Quality barely matters to users at beta -> 0 (here 1e-6 per USD), so each provider sells the
  // most tokens it can: the over-spending the paper is about.
  const auto providers = testing::random_providers(11, 4, 6, 1.0);
  const Market m(providers, MarketParams{});
  const Equilibrium eq = best_response_dynamics(m, 1e-6, Profile(4, 0));
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(eq.profile[k], 5U);
}

TEST(BestResponse, SeededStartIsDeterministicAndInRange) {
  const auto providers = testing::random_providers(1, 5, 3, 1.0);
  const Market m(providers, MarketParams{});
  EXPECT_EQ(seeded_profile(m, 42), seeded_profile(m, 42));
  EXPECT_TRUE(m.valid(seeded_profile(m, 42)));
  std::uint64_t s = 0;
  EXPECT_EQ(splitmix64(s), 0xE220A8397B1DCDAFULL);  // SplitMix64 reference value for seed 0
}

}  // namespace
}  // namespace clearhouse::market
