#include "core/integerize.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

namespace clearhouse::core {

std::vector<std::int64_t> round_to_total(std::span<const double> shares, std::int64_t total) {
  std::vector<std::int64_t> caps(shares.size(), 0);
  std::int64_t used = 0;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    const double s = std::max(0.0, shares[i]);
    caps[i] = static_cast<std::int64_t>(std::floor(s));
    used += caps[i];
  }
  // Shares that overshoot the total by rounding noise: take whole tokens back from the largest
  // caps.
  while (used > total) {
    auto it = std::max_element(caps.begin(), caps.end());
    assert(it != caps.end() && *it > 0);
    --*it;
    --used;
  }
  std::int64_t remainder = total - used;
  if (remainder <= 0) return caps;
  std::vector<std::size_t> order;
  order.reserve(shares.size());
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (std::max(0.0, shares[i]) > static_cast<double>(caps[i])) order.push_back(i);
  }
  auto frac = [&](std::size_t i) { return shares[i] - static_cast<double>(caps[i]); };
  auto by_fraction = [&](std::size_t a, std::size_t b) {
    const double fa = frac(a), fb = frac(b);
    return fa != fb ? fa > fb : a < b;
  };
  const auto take = std::min<std::size_t>(order.size(), static_cast<std::size_t>(remainder));
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                   by_fraction);
  for (std::size_t k = 0; k < take; ++k) ++caps[order[k]];
  return caps;
}

double water_level(std::span<const double> need, double total) {
  assert(total >= 0.0);
  if (need.empty()) return 0.0;
  // sum max(0, need + c) is increasing and piecewise linear in c; walk the needs from the largest.
  std::vector<double> sorted(need.begin(), need.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  double prefix = 0.0;
  for (std::size_t k = 0; k < sorted.size(); ++k) {
    prefix += sorted[k];
    const double n = static_cast<double>(k + 1);
    const double c = (total - prefix) / n;  // level if exactly the k+1 largest are positive
    const bool next_is_clipped = k + 1 == sorted.size() || sorted[k + 1] + c <= 0.0;
    if (sorted[k] + c >= 0.0 && next_is_clipped) return c;
  }
  return (total - prefix) / static_cast<double>(sorted.size());
}

std::int64_t total_tokens(std::span<const std::int64_t> caps) {
  return std::accumulate(caps.begin(), caps.end(), std::int64_t{0});
}

}  // namespace clearhouse::core
