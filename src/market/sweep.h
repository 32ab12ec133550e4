// A sweep over user rationality beta: at each beta, the pay-per-token market's equilibrium (by
// best-response dynamics from a seeded random start), the welfare optimum and the price of
// anarchy, plus what users and providers see in both (welfare.h MarketSummary).
//
// Determinism: the start at the i-th beta is seeded_profile(market, seed + i), so a sweep is a
// pure function of (market, betas, seed, options). The betas are independent and run on up to
// `threads` threads; results come back in input order either way.
//
// Example:
//   std::vector<double> betas = log_spaced(1.0, 1e6, 100);
//   std::vector<BetaResult> rows = sweep(market, betas, SweepOptions{.seed = 7});
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "market/equilibrium.h"
#include "market/market.h"
#include "market/optimum.h"
#include "market/welfare.h"

namespace clearhouse::market {

enum class OptimumMethod { kDinkelbach, kBranchAndBound, kEnumeration };

struct SweepOptions {
  std::uint64_t seed = 0;
  OptimumMethod optimum = OptimumMethod::kDinkelbach;
  unsigned threads = 1;  // for the betas (Dinkelbach) or inside each enumeration
};

struct BetaResult {
  double beta = 0.0;
  Equilibrium equilibrium;
  Optimum optimum;
  double price_of_anarchy = 0.0;  // NaN when equilibrium welfare <= 0
  MarketSummary at_equilibrium;
  MarketSummary at_optimum;
};

// n values from lo to hi, evenly spaced in log (n = 1 gives lo). Requires 0 < lo <= hi.
[[nodiscard]] std::vector<double> log_spaced(double lo, double hi, std::size_t n);

[[nodiscard]] BetaResult solve_beta(const Market& market, double beta, std::uint64_t seed,
                                    const SweepOptions& options);

[[nodiscard]] std::vector<BetaResult> sweep(const Market& market, std::span<const double> betas,
                                            const SweepOptions& options);

}  // namespace clearhouse::market
