// The global shadow price of CLEAR: the smallest price lambda (utility per token) at which the
// funded queries' caps fit a token budget.
//
//   T(lambda) = sum over funded i (lambda < lambda_a,i) of t*_i(lambda)       (tokens)
//   lambda*   = min { lambda >= 0 : T(lambda) <= B }
//
// T is decreasing, smooth between abandonment prices and jumps down at each of them, so T(lambda*)
// may be below B; see clear_allocation.h for how the leftover is handed out.
//
// Two solvers with the same contract:
//  * solve_shadow_price_bisection: the CLEAR paper's reference (40 halvings, eps = 1e-6 relative),
//    evaluating every query's cap and surplus through Lambert W at every step.
//  * solve_shadow_price_exact: breakpoints are closed-form (SurgeUtility::abandonment_price). When
//  all
//    queries share alpha (the paper's utility, and any batch with one alpha), W's argument is
//    shared, T is closed-form between breakpoints and the breakpoints are ordered by c = beta tau;
//    a histogram of c (three linear passes and a sort of one bucket) finds lambda* with one Lambert
//    W call. Otherwise it runs safeguarded Newton from below on T (convex and decreasing between
//    breakpoints), testing breakpoints exactly, with bisection as a fallback.
// Neither allocates per-query memory beyond O(N) scratch; neither has I/O or randomness.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "core/surge_utility.h"

namespace clearhouse::core {

enum class SolveStatus {
  kOptimal,         // lambda* > 0 and T(lambda*) <= B
  kBudgetSlack,     // every query fits at its peak: lambda* = 0
  kNothingFunded,   // even the cheapest query's cap at its abandonment price exceeds B
  kIterationLimit,  // the iterative path ran out of passes; lambda is feasible but maybe not
                    // minimal
};

[[nodiscard]] std::string_view to_string(SolveStatus status);

struct ShadowPrice {
  SolveStatus status = SolveStatus::kOptimal;
  double lambda = 0.0;          // utility per token; T(lambda) <= budget
  double planned_tokens = 0.0;  // T(lambda), continuous tokens
  std::size_t funded = 0;       // queries with lambda < abandonment price
  int passes = 0;               // full passes over the queries (bisection: its iterations)
  std::string_view method;      // which algorithm produced it
  // Set by the exact solver when alpha is shared: query i is funded iff beta_i tau_i < funded_cut
  // (the abandonment price falls as beta tau grows). Exact, so callers need not recompute
  // abandonment prices near a tie. Infinity: every query funded; NaN: not provided.
  double funded_cut = std::numeric_limits<double>::quiet_NaN();
  // Also from the shared-alpha path: sums over the funded queries of tau and of 1/beta (tokens),
  // from which the fill price and the Lagrangian bound follow in closed form.
  double funded_tau_sum = 0.0;
  double funded_inv_beta_sum = 0.0;
};

// Both take budget B > 0 in tokens and valid utilities (SurgeUtility::valid()); an empty span is
// allowed (nothing to fund).
[[nodiscard]] ShadowPrice solve_shadow_price_bisection(std::span<const SurgeUtility> queries,
                                                       double budget);
// alpha_shared: whether every query has the same alpha (shares_alpha()); a caller that already
// knows passes it to save a pass, otherwise it is detected.
[[nodiscard]] ShadowPrice solve_shadow_price_exact(std::span<const SurgeUtility> queries,
                                                   double budget,
                                                   std::optional<bool> alpha_shared = {});

// T(lambda) computed directly (Lambert W per query): for checks and tests.
[[nodiscard]] double planned_tokens_at(std::span<const SurgeUtility> queries, double lambda);

// True when every query has the same alpha, so W's argument lambda e / alpha is shared.
[[nodiscard]] bool shares_alpha(std::span<const SurgeUtility> queries);

}  // namespace clearhouse::core
