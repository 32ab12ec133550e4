#include "market/sweep.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

namespace clearhouse::market {

std::vector<double> log_spaced(double lo, double hi, std::size_t n) {
  std::vector<double> out;
  out.reserve(n);
  if (n == 0) return out;
  if (n == 1) return {lo};
  const double a = std::log(lo);
  const double b = std::log(hi);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(n - 1);
    out.push_back(i + 1 == n ? hi : (i == 0 ? lo : std::exp(a + (b - a) * t)));
  }
  return out;
}

BetaResult solve_beta(const Market& market, double beta, std::uint64_t seed,
                      const SweepOptions& options) {
  BetaResult r;
  r.beta = beta;
  r.equilibrium = best_response_dynamics(market, beta, seeded_profile(market, seed));
  switch (options.optimum) {
    case OptimumMethod::kDinkelbach: r.optimum = welfare_optimum(market, beta); break;
    case OptimumMethod::kBranchAndBound:
      r.optimum = welfare_optimum_enumerate(market, beta, {true, std::max(1U, options.threads)});
      break;
    case OptimumMethod::kEnumeration:
      r.optimum = welfare_optimum_enumerate(market, beta, {false, std::max(1U, options.threads)});
      break;
  }
  r.price_of_anarchy = price_of_anarchy(r.optimum.social_welfare, r.equilibrium.social_welfare);
  r.at_equilibrium = summarize(market, r.equilibrium.profile, beta);
  r.at_optimum = summarize(market, r.optimum.profile, beta);
  return r;
}

std::vector<BetaResult> sweep(const Market& market, std::span<const double> betas,
                              const SweepOptions& options) {
  std::vector<BetaResult> out(betas.size());
  // Enumeration parallelises inside each beta; Dinkelbach across betas.
  const unsigned threads =
      options.optimum == OptimumMethod::kDinkelbach ? std::max(1U, options.threads) : 1U;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next.fetch_add(1); i < betas.size(); i = next.fetch_add(1)) {
      out[i] = solve_beta(market, betas[i], options.seed + i, options);
    }
  };
  if (threads <= 1 || betas.size() <= 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    const unsigned n = static_cast<unsigned>(std::min<std::size_t>(threads, betas.size()));
    pool.reserve(n);
    for (unsigned t = 0; t < n; ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
  }
  return out;
}

}  // namespace clearhouse::market
