// Ledger throughput: one reserve + one settle (two write transactions) per iteration, on a file in the
// temporary directory, single-threaded and from 8 threads sharing one Ledger (its mutex serialises
// them, as in the gateway), with the default durability (survives SIGKILL) and with fsync per commit
// (survives power loss). items_per_second counts reserve+settle pairs.
//
//   build/bench/bench_ledger --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gateway/ledger.h"

namespace {

using clearhouse::gateway::Durability;
using clearhouse::gateway::Ledger;
using clearhouse::gateway::ManualClock;

ManualClock g_clock(1'700'000'000'000);
std::unique_ptr<Ledger> g_ledger;
std::filesystem::path g_dir;

void open_fresh(Durability durability) {
  g_dir = std::filesystem::temp_directory_path() / "clearhouse-bench-ledger";
  std::filesystem::remove_all(g_dir);
  std::filesystem::create_directories(g_dir);
  g_ledger = std::make_unique<Ledger>(
      Ledger::open((g_dir / "ledger.db").string(), g_clock, {.durability = durability}));
  g_ledger->configure_budget({.window_seconds = 3600, .global_tokens = std::int64_t{1} << 40});
}

void reserve_settle(benchmark::State& state, Durability durability) {
  if (state.thread_index() == 0) open_fresh(durability);
  // The loop's start is a barrier: every thread sees the ledger thread 0 opened.
  const std::string prefix = "t" + std::to_string(state.thread_index()) + "-";
  std::int64_t i = 0;
  for (auto _ : state) {
    const std::string id = prefix + std::to_string(i++);
    benchmark::DoNotOptimize(g_ledger->reserve(id, "key", "upstream", 512));
    benchmark::DoNotOptimize(g_ledger->settle(id, 300, 0.0));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    g_ledger.reset();
    std::filesystem::remove_all(g_dir);
  }
}

void BM_LedgerReserveSettle(benchmark::State& state) {
  reserve_settle(state, Durability::kProcessCrash);
}
BENCHMARK(BM_LedgerReserveSettle)->Threads(1)->Threads(8)->UseRealTime();

void BM_LedgerReserveSettleFsync(benchmark::State& state) {
  reserve_settle(state, Durability::kPowerLoss);
}
BENCHMARK(BM_LedgerReserveSettleFsync)->Threads(1)->Threads(8)->UseRealTime();

// What the gateway's /metrics would read per scrape: the current window (no scan of the requests).
void BM_LedgerWindowTotals(benchmark::State& state) {
  open_fresh(Durability::kProcessCrash);
  for (int i = 0; i < 10000; ++i) {
    const std::string id = "r" + std::to_string(i);
    g_ledger->reserve(id, "key" + std::to_string(i % 10), "upstream", 512);
    if (i % 2 == 0) g_ledger->settle(id, 100, 0.0);
  }
  for (auto _ : state) benchmark::DoNotOptimize(g_ledger->window_totals());
  g_ledger.reset();
  std::filesystem::remove_all(g_dir);
}
BENCHMARK(BM_LedgerWindowTotals);

}  // namespace
