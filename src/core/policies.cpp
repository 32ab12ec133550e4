#include "core/policies.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

#include "core/integerize.h"
#include "core/utility_model.h"

namespace clearhouse::core {
namespace {

constexpr double kHeuristicScarcity = 0.8;  // eta below this activates the median cutoff

std::vector<std::size_t> ascending_order(std::span<const double> values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  return order;
}

// Survivors (indices) share the budget: need + water level, then whole tokens.
std::vector<std::int64_t> share_among(std::span<const double> need,
                                      std::span<const std::size_t> survivors, std::int64_t budget) {
  std::vector<double> selected(survivors.size());
  for (std::size_t k = 0; k < survivors.size(); ++k) selected[k] = need[survivors[k]];
  const double level = water_level(selected, static_cast<double>(budget));
  for (double& s : selected) s = std::max(0.0, s + level);
  const std::vector<std::int64_t> whole = round_to_total(selected, budget);
  std::vector<std::int64_t> caps(need.size(), 0);
  for (std::size_t k = 0; k < survivors.size(); ++k) caps[survivors[k]] = whole[k];
  return caps;
}

}  // namespace

std::vector<std::int64_t> allocate_uniform(std::size_t n, std::int64_t budget) {
  assert(budget >= 0);
  std::vector<std::int64_t> caps(n, 0);
  if (n == 0) return caps;
  const auto count = static_cast<std::int64_t>(n);
  const std::int64_t each = budget / count;
  const std::int64_t extra = budget % count;
  for (std::size_t i = 0; i < n; ++i) caps[i] = each + (static_cast<std::int64_t>(i) < extra);
  return caps;
}

std::vector<std::int64_t> allocate_proportional(std::span<const double> need, std::int64_t budget,
                                                ProportionalLimits limits) {
  const std::size_t n = need.size();
  if (n == 0) return {};
  const double b = static_cast<double>(budget);
  const double lo = std::max(0.0, limits.min_tokens);
  const double hi = std::max(lo, limits.max_tokens);
  std::vector<double> shares(n);
  if (static_cast<double>(n) * lo >= b) {
    std::fill(shares.begin(), shares.end(), b / static_cast<double>(n));
  } else if (static_cast<double>(n) * hi <= b) {
    std::fill(shares.begin(), shares.end(), hi);
  } else {
    // Renormalise, clip, and renormalise the unclipped rest until no cap moves: each round fixes at
    // least one more query at a bound, so this ends within n rounds.
    std::vector<std::uint8_t> fixed(n, 0);
    for (std::size_t round = 0; round <= n; ++round) {
      double fixed_total = 0.0, free_need = 0.0;
      std::size_t free_count = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (fixed[i]) {
          fixed_total += shares[i];
        } else {
          free_need += need[i];
          ++free_count;
        }
      }
      if (free_count == 0) break;
      const double rest = b - fixed_total;
      bool changed = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (fixed[i]) continue;
        const double s =
            free_need > 0.0 ? rest * need[i] / free_need : rest / static_cast<double>(free_count);
        shares[i] = s;
        if (s < lo || s > hi) {
          shares[i] = std::clamp(s, lo, hi);
          fixed[i] = 1;
          changed = true;
        }
      }
      if (!changed) break;
    }
  }
  return round_to_total(shares, budget);
}

std::vector<std::int64_t> allocate_clear_heuristic(std::span<const double> need,
                                                   std::int64_t budget) {
  if (need.empty()) return {};
  const double mean =
      std::accumulate(need.begin(), need.end(), 0.0) / static_cast<double>(need.size());
  const double eta = (static_cast<double>(budget) / static_cast<double>(need.size())) / mean;
  std::vector<std::size_t> survivors;
  survivors.reserve(need.size());
  const double cutoff = median(need);
  for (std::size_t i = 0; i < need.size(); ++i) {
    if (eta >= kHeuristicScarcity || need[i] <= cutoff) survivors.push_back(i);
  }
  return share_among(need, survivors, budget);
}

std::vector<std::int64_t> allocate_clear_auction(std::span<const double> need,
                                                 std::int64_t budget) {
  if (need.empty()) return {};
  const std::vector<std::size_t> order = ascending_order(need);
  std::size_t m = 0;
  double used = 0.0;
  while (m < order.size() && used + need[order[m]] <= static_cast<double>(budget)) {
    used += need[order[m]];
    ++m;
  }
  m = std::max<std::size_t>(m, 1);
  return share_among(need, std::span(order).first(m), budget);
}

std::vector<std::int64_t> allocate_oracle(std::span<const double> true_tokens,
                                          std::span<const std::uint8_t> correct,
                                          std::int64_t budget) {
  assert(true_tokens.size() == correct.size());
  std::vector<std::int64_t> caps(true_tokens.size(), 0);
  std::vector<double> key(true_tokens.begin(), true_tokens.end());
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (!correct[i]) key[i] = std::numeric_limits<double>::infinity();
  }
  std::int64_t left = budget;
  for (const std::size_t i : ascending_order(key)) {
    if (!correct[i]) break;
    const auto need = static_cast<std::int64_t>(std::ceil(true_tokens[i]));
    if (need > left) break;
    caps[i] = need;
    left -= need;
  }
  return caps;
}

}  // namespace clearhouse::core
