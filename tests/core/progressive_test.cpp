// The progressive continuation index: its conditioning against an independent implementation
// (Boost's log-normal and a numerical integral), a hand-checked case, monotonicity, the slice grid,
// and the scheduler's invariants on random instances (budget never exceeded, whole caps, a finished
// query never served again).
#include "core/progressive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/distributions/lognormal.hpp>
#include <cmath>
#include <random>
#include <set>
#include <vector>

namespace clearhouse::core {
namespace {

double survival(const boost::math::lognormal_distribution<double>& d, double x) {
  return x <= 0.0 ? 1.0 : boost::math::cdf(boost::math::complement(d, x));
}

// E[min(d - a, slice) | d > a] = integral_a^{a+slice} S(x) dx / S(a), by Simpson's rule.
double integrated_slice_tokens(const LengthPrior& prior, double a, double slice) {
  const boost::math::lognormal_distribution<double> d(prior.log_mu, prior.log_sigma);
  const int n = 20000;
  const double h = slice / n;
  double sum = survival(d, a) + survival(d, a + slice);
  for (int k = 1; k < n; ++k) sum += (k % 2 == 1 ? 4.0 : 2.0) * survival(d, a + k * h);
  return sum * h / 3.0 / survival(d, a);
}

TEST(ProgressiveIndex, HandCheckedCaseAtMedianOneHundred) {
  // ln d ~ N(ln 100, 0.5^2). From nothing, a 100-token slice finishes half the time and uses
  // e^{mu + sigma^2/2} Phi(-sigma) + 100 * 0.5 = 113.315 * 0.308538 + 50 = 84.962 tokens.
  const LengthPrior prior{std::log(100.0), 0.5, 1.0};
  EXPECT_NEAR(completion_probability(prior, 0, 100), 0.5, 1e-12);
  EXPECT_NEAR(expected_slice_tokens(prior, 0, 100), 84.96188, 1e-4);
  EXPECT_NEAR(slice_value(prior, 0, 100), 0.5 / 84.96188, 1e-8);
  // Cut at 100 (the median): P(d <= 200 | d > 100) = 1 - 2 Q(ln 2 / 0.5) = 0.834343.
  EXPECT_NEAR(completion_probability(prior, 100, 100), 0.834343, 1e-6);
  EXPECT_NEAR(expected_slice_tokens(prior, 100, 100), 47.29226, 1e-4);
  // p scales the index and nothing else.
  const LengthPrior unlikely{std::log(100.0), 0.5, 0.25};
  EXPECT_NEAR(slice_value(unlikely, 100, 100), 0.25 * slice_value(prior, 100, 100), 1e-15);
}

TEST(ProgressiveIndex, ConditioningMatchesBoostLogNormalAndANumericalIntegral) {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<double> mu(std::log(20.0), std::log(2000.0)), sigma(0.1, 1.5);
  std::uniform_int_distribution<std::int64_t> generated(0, 3000), slice(1, 2000);
  for (int k = 0; k < 300; ++k) {
    const LengthPrior prior{mu(rng), sigma(rng), 1.0};
    const boost::math::lognormal_distribution<double> d(prior.log_mu, prior.log_sigma);
    const std::int64_t a = generated(rng), s = slice(rng);
    const double tail_a = survival(d, static_cast<double>(a));
    if (tail_a < 1e-12) continue;  // Boost's complement loses digits there; covered below
    const double expected_p = 1.0 - survival(d, static_cast<double>(a + s)) / tail_a;
    EXPECT_NEAR(completion_probability(prior, a, s), expected_p, 1e-9)
        << "mu " << prior.log_mu << " sigma " << prior.log_sigma << " a " << a << " slice " << s;
    const double tokens =
        integrated_slice_tokens(prior, static_cast<double>(a), static_cast<double>(s));
    EXPECT_NEAR(expected_slice_tokens(prior, a, s), tokens, 1e-6 * tokens + 1e-9);
  }
}

TEST(ProgressiveIndex, StaysFiniteAndContinuousFarInTheTail) {
  // median 20 tokens, sigma 0.1: 4000 generated tokens is z = 53, far past where erfc underflows.
  const LengthPrior prior{std::log(20.0), 0.1, 1.0};
  for (const std::int64_t a : {200, 1000, 4000}) {
    const double p = completion_probability(prior, a, 100);
    const double e = expected_slice_tokens(prior, a, 100);
    EXPECT_GT(p, 0.0) << a;
    EXPECT_LE(p, 1.0) << a;
    EXPECT_GT(e, 0.0) << a;
    EXPECT_LE(e, 100.0) << a;
  }
  // Across the switch to the asymptotic tail (z = 30 at a = e^{ln 20 + 3}): no jump.
  const auto a_switch = static_cast<std::int64_t>(std::exp(std::log(20.0) + 3.0));
  const double before = completion_probability(prior, a_switch - 1, 10);
  const double after = completion_probability(prior, a_switch + 1, 10);
  EXPECT_NEAR(before, after, 0.02 * before);
}

TEST(ProgressiveIndex, CompletionAndTokensGrowWithTheSlice) {
  const LengthPrior prior{std::log(300.0), 0.7, 1.0};
  for (const std::int64_t a : {0, 150, 600}) {
    double last_p = 0.0, last_e = 0.0;
    for (std::int64_t s = 1; s <= 4096; s *= 2) {
      const double p = completion_probability(prior, a, s), e = expected_slice_tokens(prior, a, s);
      EXPECT_GE(p, last_p) << a << " " << s;
      EXPECT_GT(e, last_e) << a << " " << s;
      EXPECT_LE(e, static_cast<double>(s)) << a << " " << s;
      last_p = p;
      last_e = e;
    }
  }
}

TEST(ProgressiveIndex, ShorterOrLikelierQueriesRankHigher) {
  double last = std::numeric_limits<double>::infinity();
  for (const double tau : {30.0, 100.0, 300.0, 1000.0, 3000.0}) {
    const double g = continuation_index({std::log(tau), 0.5, 1.0}, 0, 4096, 1 << 20).index;
    EXPECT_LT(g, last) << tau;
    last = g;
  }
  const auto at = [](double p) {
    return continuation_index({std::log(200.0), 0.5, p}, 0, 4096, 1 << 20);
  };
  EXPECT_GT(at(0.9).index, at(0.3).index);
  EXPECT_EQ(at(0.9).slice, at(0.3).slice);
  EXPECT_EQ(at(0.0).index, 0.0);
  EXPECT_EQ(at(0.0).slice, 0);
}

TEST(ProgressiveIndex, ACorrectLengthLikeAllLengthsChangesNothing) {
  LengthPrior plain{std::log(150.0), 0.6, 0.7};
  LengthPrior same = plain;
  same.correct = CorrectLength{plain.log_mu, plain.log_sigma};
  for (const std::int64_t a : {0, 100, 400}) {
    for (const std::int64_t s : {16, 64, 256}) {
      EXPECT_NEAR(slice_value(same, a, s), slice_value(plain, a, s),
                  1e-12 * slice_value(plain, a, s))
          << a << " " << s;
    }
  }
}

TEST(ProgressiveIndex, AQueryThatRunsLongLosesItsChanceOfBeingRight) {
  // Right answers run shorter than answers overall (median 100 vs 150): the further a query runs
  // unfinished, the less its index keeps of the length-only one (whose p stays 0.7).
  LengthPrior plain{std::log(150.0), 0.6, 0.7};
  LengthPrior aware = plain;
  aware.correct = CorrectLength{std::log(100.0), 0.5};
  double last_share = 2.0;
  for (const std::int64_t a : {0, 100, 200, 400, 800}) {
    const double share = slice_value(aware, a, 64) / slice_value(plain, a, 64);
    EXPECT_LT(share, last_share) << a;
    EXPECT_GE(share, 0.0);
    last_share = share;
    // Never more than the chance of finishing at all, per token.
    EXPECT_LE(slice_value(aware, a, 64), completion_probability(plain, a, 64) /
                                             expected_slice_tokens(plain, a, 64) * (1 + 1e-12));
  }
  EXPECT_LT(last_share, 0.2);
}

TEST(ProgressiveIndex, PicksTheBestSliceOfTheGrid) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> mu(std::log(20.0), std::log(2000.0)), sigma(0.1, 1.5);
  std::uniform_int_distribution<std::int64_t> generated(0, 2000), left(0, 5000);
  for (int k = 0; k < 200; ++k) {
    const LengthPrior prior{mu(rng), sigma(rng), 1.0};
    const std::int64_t a = generated(rng), query_left = left(rng), budget_left = left(rng);
    const SliceIndex best = continuation_index(prior, a, query_left, budget_left);
    const auto grid = slice_grid(query_left, budget_left);
    double brute = 0.0;
    for (auto s : grid) brute = std::max(brute, slice_value(prior, a, s));
    EXPECT_DOUBLE_EQ(best.index, brute);
    if (best.index > 0.0) {
      EXPECT_NE(std::find(grid.begin(), grid.end(), best.slice), grid.end());
      EXPECT_LE(best.slice, std::min(query_left, budget_left));
    }
  }
}

TEST(SliceGrid, QuarterOctaveStepsWithinBothLimits) {
  const auto grid = slice_grid(4096, 1 << 20);
  ASSERT_GE(grid.size(), 5u);
  EXPECT_EQ(std::vector<std::int64_t>(grid.begin(), grid.begin() + 5),
            (std::vector<std::int64_t>{16, 19, 23, 27, 32}));
  EXPECT_EQ(grid.back(), 4096);
  EXPECT_TRUE(std::is_sorted(grid.begin(), grid.end()));
  EXPECT_EQ(std::set<std::int64_t>(grid.begin(), grid.end()).size(), grid.size());
  // The query's remainder is a candidate when it fits the budget, not otherwise.
  EXPECT_EQ(slice_grid(100, 1000).back(), 100);
  EXPECT_EQ(slice_grid(1000, 100).back(), 91);
  EXPECT_EQ(slice_grid(10, 1000), (std::vector<std::int64_t>{10}));
  // A budget below the smallest slice: what is left of it, once.
  EXPECT_EQ(slice_grid(1000, 7), (std::vector<std::int64_t>{7}));
  EXPECT_EQ(slice_grid(3, 7), (std::vector<std::int64_t>{3}));
  EXPECT_TRUE(slice_grid(0, 1000).empty());
  EXPECT_TRUE(slice_grid(1000, 0).empty());
}

TEST(ProgressiveIndex, DefaultPriorIsTheDocumentedOne) {
  const LengthPrior prior = default_length_prior();
  EXPECT_NEAR(std::exp(prior.log_mu), 200.0, 1e-9);
  EXPECT_EQ(prior.log_sigma, 1.0);
  EXPECT_EQ(prior.p_correct, 1.0);
}

}  // namespace
}  // namespace clearhouse::core
