// Pacer decision cost: one decide() + one record_usage() per iteration on a steady stream
// (remaining budget shrinking with spend, a timed window), by policy and window size, with the
// default calibration schedule (the ring's median every 16 decisions) and with a median on every
// decision (the cost the schedule avoids). The thresholds are drawn up front so the loop times only
// the pacer.
//
//   build/bench/bench_pacer --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gateway/pacer.h"

namespace {

using clearhouse::gateway::BudgetView;
using clearhouse::gateway::Pacer;
using clearhouse::gateway::PacerOptions;
using clearhouse::gateway::PacingPolicy;

constexpr std::size_t kStream = 1 << 16;

const std::vector<double>& thresholds() {
  static const std::vector<double> tau = [] {
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> dist(std::log(200.0), 0.8);
    std::vector<double> out(kStream);
    for (double& t : out) t = dist(rng);
    return out;
  }();
  return tau;
}

void run(benchmark::State& state, PacerOptions options) {
  options.window_queries = static_cast<std::size_t>(state.range(0));
  Pacer pacer(options);
  const std::vector<double>& tau = thresholds();
  // A one-hour window with 10 requests per second and a budget of 150 tokens per request; the
  // budget restarts each lap of the stream so the pacer stays in its steady state.
  constexpr std::int64_t kWindowMs = 3'600'000;
  constexpr std::int64_t kBudget = 150 * 36'000;
  std::int64_t spent = 0;
  std::size_t i = 0;
  std::int64_t now = 0;
  for (auto _ : state) {
    if (i == kStream || now >= kWindowMs) {
      i = 0;
      now = 0;
      spent = 0;
    }
    const BudgetView view{kBudget, kBudget - spent, 0, kWindowMs};
    const auto d = pacer.decide(tau[i], now, view);
    if (d.funded) {
      const auto used = std::min<std::int64_t>(d.cap, static_cast<std::int64_t>(tau[i]));
      pacer.record_usage(d.cap, used);
      spent += used;
    }
    benchmark::DoNotOptimize(d);
    ++i;
    now += 100;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PacerClear(benchmark::State& state) {
  run(state, {.policy = PacingPolicy::kClear});
}
BENCHMARK(BM_PacerClear)->Arg(128)->Arg(512)->Arg(2048);

void BM_PacerClearCalibrateEveryDecision(benchmark::State& state) {
  run(state, {.policy = PacingPolicy::kClear, .calibrate_every = 1});
}
BENCHMARK(BM_PacerClearCalibrateEveryDecision)->Arg(128)->Arg(512)->Arg(2048);

void BM_PacerUniform(benchmark::State& state) {
  run(state, {.policy = PacingPolicy::kUniform});
}
BENCHMARK(BM_PacerUniform)->Arg(512);

void BM_PacerPredictor(benchmark::State& state) {
  run(state, {.policy = PacingPolicy::kPredictor});
}
BENCHMARK(BM_PacerPredictor)->Arg(512);

}  // namespace
