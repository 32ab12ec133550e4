// Turning continuous token shares into whole-token caps without exceeding a total.
//
// round_to_total: floor every share, then hand the remaining whole tokens (total - sum of floors,
// never more than the number of shares when the shares sum to total) one each to the largest
// fractional parts; ties go to the lower index, so results are deterministic. Negative shares are
// treated as 0. The sum of the result is min(total, sum of ceilings).
//
// water_level: the shift c with sum_i max(0, need_i + c) = total (total >= 0). Used by the CLEAR
// heuristic and auction rules ("each survivor gets its need plus an equal share of what is left",
// clipped at 0 and renormalised).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace clearhouse::core {

[[nodiscard]] std::vector<std::int64_t> round_to_total(std::span<const double> shares,
                                                       std::int64_t total);

[[nodiscard]] double water_level(std::span<const double> need, double total);

// Sum of caps, tokens.
[[nodiscard]] std::int64_t total_tokens(std::span<const std::int64_t> caps);

}  // namespace clearhouse::core
