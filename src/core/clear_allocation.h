// CLEAR (Lambert): whole-token caps from the shadow price, with the leftover rule and a
// certificate.
//
// 1. Solve lambda* (shadow_price.h) with the chosen solver. Funded: lambda* < abandonment price.
// 2. Leftover rule. T(lambda*) can sit below the budget B (T jumps where a query is abandoned).
//    The leftover goes to the funded queries only, by lowering their common price: the fill price
//    lambda_f in [0, lambda*] solves sum over funded of t*_i(lambda_f) = B (lambda_f = 0 when every
//    funded query fits at its peak). Every funded query moves up its own demand curve, marginal
//    utilities stay equal, no cap passes its peak, and abandoned queries stay abandoned (their
//    surplus at lambda* is not positive).
// 3. Whole tokens: floor each funded cap, then give the remaining whole tokens one each to the
// largest
//    fractional parts (lowest index first on ties) as long as that stays at or below floor(peak);
//    tokens that clamp strands go one each, in index order, to funded queries still below
//    floor(peak). The caps sum to at most B; what is left (only when all funded queries sit at
//    floor(peak)) stays unallocated and is reported.
// 4. Certificate: utility = sum phi_i(cap_i); the Lagrangian bound at lambda*,
//    OPT <= lambda* B + sum_i max(0, S_i(lambda*)), is reported beside it, so the optimality gap is
//    known for this instance (the paper gives none).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/shadow_price.h"
#include "core/surge_utility.h"

namespace clearhouse::core {

enum class PriceSolver { kExact, kBisection };

struct ClearPlan {
  ShadowPrice price;               // lambda* and how it was found
  double fill_price = 0.0;         // lambda_f <= lambda*, the price after the leftover rule
  std::vector<std::int64_t> caps;  // whole tokens; 0 = abandoned
  std::int64_t allocated = 0;      // sum of caps, tokens (<= budget)
  std::size_t funded = 0;          // caps > 0
  double utility = 0.0;            // sum phi_i(cap_i)
  double upper_bound = 0.0;        // Lagrangian bound at lambda* (>= utility of any feasible plan)

  // (upper_bound - utility) / upper_bound, or 0 when the bound is 0.
  [[nodiscard]] double relative_gap() const;
};

// budget: total tokens, > 0. queries: valid utilities (may be empty).
[[nodiscard]] ClearPlan allocate_clear(std::span<const SurgeUtility> queries, std::int64_t budget,
                                       PriceSolver solver = PriceSolver::kExact);

// The Lagrangian upper bound lambda B + sum_i max(0, S_i(lambda)), for any lambda >= 0.
[[nodiscard]] double lagrangian_bound(std::span<const SurgeUtility> queries, double budget,
                                      double lambda);

}  // namespace clearhouse::core
