// Market microbenchmarks: the pieces of `clearhouse market` on nine providers with six levels (the
// paper's size, 6^9 ~ 10 million profiles). Build with -DCLEARHOUSE_BENCHMARKS=ON, run
// build/bench/bench_market.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "market/auction.h"
#include "market/equilibrium.h"
#include "market/market.h"
#include "market/optimum.h"
#include "market/sweep.h"

namespace {

using namespace clearhouse::market;

// Deterministic curves shaped like token-capped ones: accuracy and tokens rise and saturate.
std::vector<Provider> nine_by_six() {
  std::vector<Provider> out;
  std::uint64_t s = 12345;
  auto unit = [&s] { return static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53; };
  const double thetas[] = {64, 128, 256, 512, 1024, 4096};
  for (int k = 0; k < 9; ++k) {
    Provider p;
    p.name = "p" + std::to_string(k);
    p.usd_per_mtok = 0.05 + 0.2 * unit();
    const double top = 0.1 + 0.8 * unit();
    const double scale = 150.0 + 600.0 * unit();
    for (double t : thetas) {
      const double reach = 1.0 - std::exp(-t / scale);
      p.levels.push_back(ComputeLevel{t, top * reach, scale * reach + 0.05 * t * unit()});
    }
    out.push_back(std::move(p));
  }
  return out;
}

const Market& market() {
  static const std::vector<Provider> providers = nine_by_six();
  static const Market m(providers, MarketParams{});
  return m;
}

void BM_BestResponseDynamics(benchmark::State& state) {
  const double beta = static_cast<double>(state.range(0));
  std::uint64_t seed = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        best_response_dynamics(market(), beta, seeded_profile(market(), seed++)));
  }
}
BENCHMARK(BM_BestResponseDynamics)->Arg(1)->Arg(1000)->Arg(1000000);

void BM_OptimumDinkelbach(benchmark::State& state) {
  const double beta = static_cast<double>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(welfare_optimum(market(), beta));
}
BENCHMARK(BM_OptimumDinkelbach)->Arg(1)->Arg(1000)->Arg(1000000);

void BM_OptimumBranchAndBound(benchmark::State& state) {
  const double beta = static_cast<double>(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(welfare_optimum_enumerate(market(), beta, {true, threads}));
  }
}
BENCHMARK(BM_OptimumBranchAndBound)
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1000000, 1})
    ->Args({1000, 2})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

void BM_OptimumFullEnumeration(benchmark::State& state) {
  const auto threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(welfare_optimum_enumerate(market(), 1000.0, {false, threads}));
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(market().profile_count()));
}
BENCHMARK(BM_OptimumFullEnumeration)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Sweep100Betas(benchmark::State& state) {
  const std::vector<double> betas = log_spaced(1.0, 1e6, 100);
  for (auto _ : state) benchmark::DoNotOptimize(sweep(market(), betas, SweepOptions{}));
}
BENCHMARK(BM_Sweep100Betas)->Unit(benchmark::kMillisecond);

void BM_Auction(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(run_auction(market(), truthful_bids(market())));
}
BENCHMARK(BM_Auction);

}  // namespace
