#include "core/surge_utility.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace clearhouse::core {
namespace {

TEST(SurgeUtility, ZeroBelowThresholdAndPeaksWhereTheFormulaSays) {
  const SurgeUtility q{100.0, 2.0, 0.01};
  EXPECT_EQ(q.value(50.0), 0.0);
  EXPECT_EQ(q.value(100.0), 0.0);
  EXPECT_DOUBLE_EQ(q.peak_tokens(), 200.0);
  EXPECT_NEAR(q.value(200.0), 2.0 / (0.01 * std::exp(1.0)), 1e-9);
  EXPECT_NEAR(q.peak_value(), q.value(200.0), 1e-12);
  EXPECT_LT(q.value(199.0), q.value(200.0));
  EXPECT_LT(q.value(201.0), q.value(200.0));
}

TEST(SurgeUtility, MarginalAtOptimalCapEqualsPrice) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> tau(5.0, 3000.0), alpha(0.1, 5.0), beta(1e-4, 0.1);
  for (int k = 0; k < 2000; ++k) {
    const SurgeUtility q{tau(rng), alpha(rng), beta(rng)};
    std::uniform_real_distribution<double> price(1e-6 * q.alpha, 0.999 * q.alpha);
    const double lambda = price(rng);
    const double t = q.cap_at_price(lambda);
    EXPECT_NEAR(q.marginal(t), lambda, 1e-9 * lambda) << "tau " << q.tau << " lambda " << lambda;
    EXPECT_GE(t, q.tau);
    EXPECT_LE(t, q.peak_tokens());
  }
}

TEST(SurgeUtility, SurplusStrictlyDecreasingInPrice) {
  const SurgeUtility q{300.0, 2.0, 1.0 / 300.0};
  double previous = q.surplus_at_price(0.0);
  for (double lambda = 1e-4; lambda < 2.0; lambda *= 1.3) {
    const double s = q.surplus_at_price(lambda);
    EXPECT_LT(s, previous) << lambda;
    previous = s;
  }
}

TEST(SurgeUtility, AbandonmentPriceIsWhereSurplusCrossesZero) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> tau(1.0, 5000.0), alpha(0.1, 5.0), beta(1e-4, 1.0);
  for (int k = 0; k < 2000; ++k) {
    const SurgeUtility q{tau(rng), alpha(rng), beta(rng)};
    const double la = q.abandonment_price();
    ASSERT_GT(la, 0.0);
    ASSERT_LT(la, q.alpha);
    EXPECT_GT(q.surplus_at_price(la * (1.0 - 1e-6)), 0.0);
    EXPECT_LE(q.surplus_at_price(la * (1.0 + 1e-6)), 0.0);
    EXPECT_NEAR(q.surplus_at_price(la), 0.0, 1e-7 * q.peak_value());
  }
}

TEST(SurgeUtility, AbandonmentRootSolvesItsQuadratic) {
  for (double c : {1e-8, 1e-3, 0.5, 1.0, 7.0, 1e3, 1e8}) {
    const double u = abandonment_root(c);
    EXPECT_GT(u, 0.0);
    EXPECT_LT(u, 1.0);
    EXPECT_NEAR((1.0 - u) * (1.0 - u), c * u, 1e-12 * std::max(1.0, c * u)) << c;
  }
}

TEST(SurgeUtility, CapSlopeMatchesFiniteDifference) {
  const SurgeUtility q{250.0, 1.5, 0.004};
  for (double lambda : {0.01, 0.1, 0.5, 1.0}) {
    const double h = 1e-6 * lambda;
    const double numeric = (q.cap_at_price(lambda + h) - q.cap_at_price(lambda - h)) / (2 * h);
    EXPECT_NEAR(q.cap_slope_at_price(lambda), numeric, 1e-5 * std::abs(numeric));
  }
}

TEST(SurgeUtility, ValidityRejectsNonPositiveAndNonFinite) {
  EXPECT_TRUE((SurgeUtility{1.0, 1.0, 1.0}.valid()));
  EXPECT_FALSE((SurgeUtility{0.0, 1.0, 1.0}.valid()));
  EXPECT_FALSE((SurgeUtility{1.0, -1.0, 1.0}.valid()));
  EXPECT_FALSE((SurgeUtility{1.0, 1.0, NAN}.valid()));
  EXPECT_FALSE((SurgeUtility{INFINITY, 1.0, 1.0}.valid()));
}

}  // namespace
}  // namespace clearhouse::core
