#include "core/shadow_price.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/clear_allocation.h"
#include "core/utility_model.h"

namespace clearhouse::core {
namespace {

std::vector<SurgeUtility> random_instance(std::mt19937_64& rng, std::size_t n, UtilityShape shape) {
  std::lognormal_distribution<double> draw(std::log(300.0), 0.7);
  std::vector<double> tau(n);
  for (double& t : tau) t = std::max(1.0, std::round(draw(rng)));
  UtilityModel model;
  model.shape = shape;
  return build_utilities(tau, model);
}

TEST(ShadowPrice, ExactAndBisectionAgreeOnBothUtilityShapes) {
  std::mt19937_64 rng(3);
  for (const UtilityShape shape : {UtilityShape::kPaper, UtilityShape::kScaled}) {
    for (int k = 0; k < 40; ++k) {
      const auto queries = random_instance(rng, 200 + static_cast<std::size_t>(k) * 37, shape);
      std::uniform_real_distribution<double> per_query(30.0, 500.0);
      const double budget = std::round(per_query(rng) * static_cast<double>(queries.size()));
      const ShadowPrice exact = solve_shadow_price_exact(queries, budget);
      const ShadowPrice bisect = solve_shadow_price_bisection(queries, budget);
      ASSERT_NE(exact.status, SolveStatus::kIterationLimit);
      if (exact.status == SolveStatus::kBudgetSlack) {
        EXPECT_EQ(bisect.status, SolveStatus::kBudgetSlack);
        continue;
      }
      EXPECT_NEAR(exact.lambda, bisect.lambda, 1e-6 * exact.lambda)
          << to_string(shape) << " instance " << k;
      EXPECT_LE(exact.planned_tokens, budget + 1e-6);
      // lambda* is minimal: just below it the funded total exceeds the budget.
      EXPECT_GT(planned_tokens_at(queries, exact.lambda * (1.0 - 1e-9)), budget - 1e-6);
      EXPECT_LE(planned_tokens_at(queries, exact.lambda), budget + 1e-6);

      const ClearPlan a =
          allocate_clear(queries, static_cast<std::int64_t>(budget), PriceSolver::kExact);
      const ClearPlan b =
          allocate_clear(queries, static_cast<std::int64_t>(budget), PriceSolver::kBisection);
      EXPECT_GE(a.utility, b.utility - 1e-9 * std::abs(b.utility));
    }
  }
}

TEST(ShadowPrice, BudgetAboveEveryPeakGivesZeroPrice) {
  const std::vector<SurgeUtility> queries{{100, 2, 0.01}, {200, 2, 0.01}};
  const ShadowPrice p = solve_shadow_price_exact(queries, 1000.0);
  EXPECT_EQ(p.status, SolveStatus::kBudgetSlack);
  EXPECT_EQ(p.lambda, 0.0);
  EXPECT_DOUBLE_EQ(p.planned_tokens, 500.0);
  EXPECT_EQ(solve_shadow_price_bisection(queries, 1000.0).status, SolveStatus::kBudgetSlack);
}

TEST(ShadowPrice, BudgetBelowEveryThresholdFundsNothing) {
  const std::vector<SurgeUtility> queries{{100, 2, 0.01}, {200, 2, 0.01}};
  const ShadowPrice p = solve_shadow_price_exact(queries, 50.0);
  EXPECT_EQ(p.status, SolveStatus::kNothingFunded);
  EXPECT_EQ(p.funded, 0u);
  const ClearPlan plan = allocate_clear(queries, 50);
  EXPECT_EQ(plan.allocated, 0);
  EXPECT_EQ(plan.funded, 0u);
}

// Hand-checkable: shared alpha and beta, thresholds 100 and 400, beta = 1/100. Funding only the
// first, its cap at the second's abandonment price is below the budget, so the price sits at the
// second query's breakpoint and the leftover lowers the first query's price (up to its peak, 200).
TEST(ShadowPrice, JumpAtBreakpointLeavesLeftoverForTheFundedQuery) {
  const std::vector<SurgeUtility> queries{{100, 2, 0.01}, {400, 2, 0.01}};
  const ShadowPrice p = solve_shadow_price_exact(queries, 450.0);
  EXPECT_NEAR(p.lambda, queries[1].abandonment_price(), 1e-12);
  EXPECT_EQ(p.funded, 1u);
  EXPECT_LT(p.planned_tokens, 450.0);
  const ClearPlan plan = allocate_clear(queries, 450);
  EXPECT_EQ(plan.caps[1], 0);
  EXPECT_EQ(plan.caps[0], 200);  // the peak: leftover never pushes past it
  EXPECT_EQ(plan.fill_price, 0.0);
}

TEST(ShadowPrice, EmptyInputIsSlack) {
  const ShadowPrice p = solve_shadow_price_exact({}, 10.0);
  EXPECT_EQ(p.status, SolveStatus::kBudgetSlack);
  EXPECT_EQ(allocate_clear({}, 10).allocated, 0);
}

}  // namespace
}  // namespace clearhouse::core
