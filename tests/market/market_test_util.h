// Helpers shared by the market tests: deterministic random instances and brute force.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "market/equilibrium.h"
#include "market/market.h"
#include "market/provider.h"
#include "market/welfare.h"

namespace clearhouse::market::testing {

// Uniform double in [0, 1) from SplitMix64.
inline double unit(std::uint64_t& state) {
  return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
}

// A random market of `k` providers with `l` levels. `price_scale` multiplies list prices: 1 keeps
// real per-token prices (cents per query, quality in dollars); 1e4-1e5 makes price comparable to
// quality so that the cost side matters.
inline std::vector<Provider> random_providers(std::uint64_t seed, std::size_t k, std::size_t l,
                                              double price_scale) {
  std::uint64_t s = seed * 7919 + 17;
  std::vector<Provider> out;
  for (std::size_t p = 0; p < k; ++p) {
    Provider prov;
    prov.name = "p" + std::to_string(p);
    prov.usd_per_mtok = (0.05 + 0.3 * unit(s)) * price_scale;
    std::vector<double> acc(l), tok(l);
    for (std::size_t i = 0; i < l; ++i) {
      acc[i] = unit(s);
      tok[i] = 10.0 + 4000.0 * unit(s);
    }
    std::sort(acc.begin(), acc.end());
    std::sort(tok.begin(), tok.end());
    // Sometimes a non-monotone curve: accuracy falls at the top level (over-thinking).
    if (l > 2 && unit(s) < 0.3) std::swap(acc[l - 1], acc[l - 2]);
    for (std::size_t i = 0; i < l; ++i) {
      prov.levels.push_back(ComputeLevel{static_cast<double>(64 << i), acc[i], tok[i]});
    }
    out.push_back(std::move(prov));
  }
  return out;
}

// Calls f(profile) for every profile (odometer order).
template <typename F>
void for_each_profile(const Market& market, F&& f) {
  Profile p(market.size(), 0);
  while (true) {
    f(static_cast<const Profile&>(p));
    std::size_t k = 0;
    while (k < p.size() && ++p[k] == market.levels(k)) p[k++] = 0;
    if (k == p.size()) return;
  }
}

inline double brute_force_max_welfare(const Market& market, double beta) {
  double best = -1e300;
  for_each_profile(
      market, [&](const Profile& p) { best = std::max(best, social_welfare(market, p, beta)); });
  return best;
}

inline const std::vector<double>& test_betas() {
  static const std::vector<double> betas = {0.0, 0.01, 0.3, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4, 1e6};
  return betas;
}

}  // namespace clearhouse::market::testing
