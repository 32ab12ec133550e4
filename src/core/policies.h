// The allocation policies of the CLEAR paper (docs/allocation.md), apart from CLEAR (Lambert),
// which lives in clear_allocation.h; their names and inputs are in policy_registry.h. Every policy
// returns whole-token caps, one per query, never negative, summing to at most the budget (tokens).
//
//  uniform          floor(B/N) each; the B mod N leftover tokens go one each to the first queries.
//  proportional     Predictor and TALE-EP: t_i proportional to need_i, clipped to [min, max],
//  summing
//                   to B exactly when N min <= B <= N max (else every cap at the violated bound).
//  clear_heuristic  eta = (B/N)/mean(need); if eta < 0.8, needs above the median get 0. Survivors
//  get
//                   need_i + c with the water level c (sum max(0, need_i + c) = B): "need plus an
//                   equal share of what is left, clipped at 0 and renormalised".
//  clear_auction    survivors = the longest prefix of needs sorted ascending with sum <= B (at
//  least
//                   one query, as the paper's m in [1, N]); they share B by the same rule.
//  oracle           knows true lengths and correctness: correct queries by ascending true length
//  get
//                   exactly their length while the budget lasts; the rest get 0; leftover unused.
//
// Ties in sorting go to the lower index; nothing here is random.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace clearhouse::core {

[[nodiscard]] std::vector<std::int64_t> allocate_uniform(std::size_t n, std::int64_t budget);

struct ProportionalLimits {
  double min_tokens = 0.0;
  double max_tokens = std::numeric_limits<double>::infinity();
};
[[nodiscard]] std::vector<std::int64_t> allocate_proportional(std::span<const double> need,
                                                              std::int64_t budget,
                                                              ProportionalLimits limits = {});

[[nodiscard]] std::vector<std::int64_t> allocate_clear_heuristic(std::span<const double> need,
                                                                 std::int64_t budget);
[[nodiscard]] std::vector<std::int64_t> allocate_clear_auction(std::span<const double> need,
                                                               std::int64_t budget);

// true_tokens: whole tokens each correct answer needs; correct: whether it was right at full
// length.
[[nodiscard]] std::vector<std::int64_t> allocate_oracle(std::span<const double> true_tokens,
                                                        std::span<const std::uint8_t> correct,
                                                        std::int64_t budget);

}  // namespace clearhouse::core
