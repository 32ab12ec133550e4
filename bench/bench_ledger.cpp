// Ledger throughput: one reserve + one settle per iteration, with request ids made as the gateway
// makes them (ledger/request_id.h), on a file in the temporary directory: single-threaded, and from
// 8 and 32 threads sharing one Ledger as the gateway's connection threads do, with the default
// durability (survives SIGKILL: each write is one journal write()) and with an fdatasync per write
// (survives power loss). items_per_second counts reserve+settle pairs; the counter
// writes_per_commit says how many journaled writes each SQLite transaction of the applier thread
// took (ledger/journal_applier.h).
//
//   build/bench/bench_ledger --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "ledger/ledger.h"
#include "ledger/request_id.h"

namespace {

namespace base = clearhouse::base;
namespace ledger = clearhouse::ledger;

base::ManualClock g_clock(1'700'000'000'000);
std::unique_ptr<ledger::Ledger> g_ledger;
std::filesystem::path g_dir;

void open_fresh(ledger::Durability durability) {
  g_dir = std::filesystem::temp_directory_path() / "clearhouse-bench-ledger";
  std::filesystem::remove_all(g_dir);
  std::filesystem::create_directories(g_dir);
  g_ledger = std::make_unique<ledger::Ledger>(
      ledger::Ledger::open((g_dir / "ledger.db").string(), g_clock, {.durability = durability}));
  g_ledger->configure_budget({.window_seconds = 3600, .global_tokens = std::int64_t{1} << 40});
}

void reserve_settle(benchmark::State& state, ledger::Durability durability) {
  if (state.thread_index() == 0) open_fresh(durability);
  // The loop's start is a barrier: every thread sees the ledger thread 0 opened.
  std::mt19937_64 rng(1234 + state.thread_index());
  for (auto _ : state) {
    // Wall-clock time, as the gateway's ids carry: ids made later sort later.
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::string id = clearhouse::ledger::make_request_id(rng, now_ms);
    benchmark::DoNotOptimize(g_ledger->reserve(id, "key", "upstream", 512));
    benchmark::DoNotOptimize(g_ledger->settle(id, 300, 0.0));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    const clearhouse::ledger::LedgerWriteStats stats = g_ledger->write_stats();
    state.counters["writes_per_commit"] =
        static_cast<double>(stats.writes) /
        static_cast<double>(std::max<std::uint64_t>(1, stats.commits));
    g_ledger.reset();
    std::filesystem::remove_all(g_dir);
  }
}

void BM_LedgerReserveSettle(benchmark::State& state) {
  reserve_settle(state, ledger::Durability::kProcessCrash);
}
BENCHMARK(BM_LedgerReserveSettle)->Threads(1)->Threads(8)->Threads(32)->UseRealTime();

void BM_LedgerReserveSettleFsync(benchmark::State& state) {
  reserve_settle(state, ledger::Durability::kPowerLoss);
}
BENCHMARK(BM_LedgerReserveSettleFsync)->Threads(1)->Threads(8)->Threads(32)->UseRealTime();

// What the gateway's /metrics would read per scrape: the current window (no scan of the requests).
void BM_LedgerWindowTotals(benchmark::State& state) {
  open_fresh(ledger::Durability::kProcessCrash);
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
