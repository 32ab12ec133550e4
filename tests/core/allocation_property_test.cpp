// Invariants of CLEAR (Lambert) on thousands of random instances: the budget holds, caps are whole
// and non-negative, funded queries have positive surplus, utility never drops as the budget grows,
// and the Lagrangian bound is never below what was achieved.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/clear_allocation.h"
#include "core/utility_model.h"

namespace clearhouse::core {
namespace {

struct Instance {
  std::vector<SurgeUtility> queries;
  std::int64_t budget = 0;
};

Instance draw_instance(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> size(1, 60);
  std::uniform_real_distribution<double> sigma(0.0, 1.2), per_query(1.0, 800.0), unit(0.0, 1.0);
  const std::size_t n = static_cast<std::size_t>(size(rng));
  std::lognormal_distribution<double> draw(std::log(250.0), sigma(rng));
  std::vector<double> tau(n), value(n);
  for (std::size_t i = 0; i < n; ++i) {
    tau[i] = unit(rng) < 0.5 ? std::max(1.0, std::round(draw(rng))) : std::max(0.5, draw(rng));
    value[i] = 0.05 + unit(rng);
  }
  UtilityModel model;
  const double pick = unit(rng);
  model.shape = pick < 0.5 ? UtilityShape::kPaper : UtilityShape::kScaled;
  model.kappa = 0.5 + 3.0 * unit(rng);
  Instance inst;
  inst.queries = build_utilities(
      tau, model, pick > 0.75 ? std::span<const double>(value) : std::span<const double>());
  inst.budget =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(per_query(rng) * static_cast<double>(n)));
  return inst;
}

TEST(AllocationProperty, BudgetCapsSurplusAndBoundHoldOnRandomInstances) {
  std::mt19937_64 rng(2024);
  for (int k = 0; k < 3000; ++k) {
    const Instance inst = draw_instance(rng);
    for (const PriceSolver solver : {PriceSolver::kExact, PriceSolver::kBisection}) {
      const ClearPlan plan = allocate_clear(inst.queries, inst.budget, solver);
      ASSERT_EQ(plan.caps.size(), inst.queries.size());
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < plan.caps.size(); ++i) {
        ASSERT_GE(plan.caps[i], 0) << "instance " << k;
        sum += plan.caps[i];
        if (plan.caps[i] > 0) {
          // Funded only with positive surplus at the shadow price, and never past the peak.
          EXPECT_GT(inst.queries[i].surplus_at_price(plan.price.lambda), 0.0) << "instance " << k;
          EXPECT_LE(static_cast<double>(plan.caps[i]), inst.queries[i].peak_tokens() + 1e-9);
        }
      }
      ASSERT_LE(sum, inst.budget) << "instance " << k;
      EXPECT_EQ(sum, plan.allocated);
      EXPECT_GE(plan.upper_bound, plan.utility - 1e-9 * std::abs(plan.utility)) << "instance " << k;
      EXPECT_NE(plan.price.status, SolveStatus::kIterationLimit);
    }
  }
}

TEST(AllocationProperty, UtilityNeverDropsWhenTheBudgetGrows) {
  std::mt19937_64 rng(99);
  for (int k = 0; k < 300; ++k) {
    const Instance inst = draw_instance(rng);
    double previous = -1.0;
    const std::int64_t top = inst.budget * 2;
    const std::int64_t step = std::max<std::int64_t>(1, top / 40);
    for (std::int64_t b = 1; b <= top; b += step) {
      const ClearPlan plan = allocate_clear(inst.queries, b);
      EXPECT_GE(plan.utility, previous - 1e-9 * std::abs(previous))
          << "instance " << k << " budget " << b;
      previous = plan.utility;
    }
  }
}

TEST(AllocationProperty, UsesTheWholeBudgetUnlessEveryFundedQueryIsAtItsPeak) {
  std::mt19937_64 rng(5);
  for (int k = 0; k < 1000; ++k) {
    const Instance inst = draw_instance(rng);
    const ClearPlan plan = allocate_clear(inst.queries, inst.budget);
    if (plan.allocated == inst.budget || plan.funded == 0) continue;
    // Tokens were left over: every funded query must sit at floor(peak).
    for (std::size_t i = 0; i < plan.caps.size(); ++i) {
      if (plan.caps[i] > 0) {
        EXPECT_EQ(static_cast<double>(plan.caps[i]), std::floor(inst.queries[i].peak_tokens()))
            << "instance " << k;
      }
    }
  }
}

}  // namespace
}  // namespace clearhouse::core
