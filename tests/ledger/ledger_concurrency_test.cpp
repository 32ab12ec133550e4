// Concurrency: many threads reserving at the edge of the budget never overshoot it, and a reader
// never sees a window over budget while writers work.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger::testing {
namespace {

constexpr int kThreads = 8;

TEST(LedgerConcurrency, ThousandReservesFromEightThreadsFillTheBudgetExactly) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  constexpr std::int64_t kBudget = 5000;
  constexpr std::int64_t kCap = 10;
  constexpr int kPerThread = 125;  // 1,000 reserves asking for twice the budget
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = kBudget});
  std::atomic<int> granted{0};
  std::atomic<int> rejected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto r = ledger.reserve("t" + std::to_string(t) + "-" + std::to_string(i),
                                      "k" + std::to_string(t % 3), "u", kCap);
        if (r.status == ReserveStatus::kReserved) {
          ++granted;
        } else if (r.status == ReserveStatus::kOverGlobalBudget) {
          ++rejected;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(granted.load(), static_cast<int>(kBudget / kCap));
  EXPECT_EQ(rejected.load(), kThreads * kPerThread - static_cast<int>(kBudget / kCap));
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.reserved_tokens, kBudget);
  EXPECT_EQ(t.window.remaining_tokens, 0);
  EXPECT_EQ(t.overall.requests, kBudget / kCap);
}

TEST(LedgerConcurrency, ReserveSettleChurnWithKeyBudgetsNeverOvershootsAndLeaksNothing) {
  base::ManualClock clock(kT0);
  Ledger ledger = Ledger::open(ledger_path(), clock);
  constexpr std::int64_t kBudget = 4000;
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = kBudget});
  ledger.set_key_budget("k0", 1500);
  ledger.set_key_budget("k1", 1500);
  std::atomic<bool> writers_done{false};
  std::atomic<int> granted{0};
  std::thread reader([&] {
    // Checks the invariant while writers work (no sleeps: it reads as fast as it can).
    while (!writers_done.load()) {
      const WindowTotals w = ledger.window_totals();
      ASSERT_LE(w.spent_tokens + w.reserved_tokens, kBudget);
      for (const char* key : {"k0", "k1"}) {
        const WindowTotals kw = ledger.key_window_totals(key);
        ASSERT_LE(kw.spent_tokens + kw.reserved_tokens, 1500);
      }
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      std::uniform_int_distribution<std::int64_t> cap(10, 60);
      for (int i = 0; i < 125; ++i) {
        const std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        const std::int64_t tokens = cap(rng);
        const auto r = ledger.reserve(id, "k" + std::to_string(t % 3), "u", tokens);
        if (r.status != ReserveStatus::kReserved) continue;
        ++granted;
        if (i % 5 == 0) {
          ledger.release(id);
        } else if (i % 5 != 1) {  // i % 5 == 1 stays open until the end
          ledger.settle(id, tokens / 4, 0.0);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  writers_done = true;
  reader.join();
  const WindowTotals w = ledger.window_totals();
  EXPECT_LE(w.spent_tokens + w.reserved_tokens, kBudget);
  EXPECT_GT(granted.load(), 0);
  // Close whatever is still open: zero leaked reservations.
  std::vector<RequestRecord> open;
  ledger.for_each_request([&](const RequestRecord& r) {
    if (r.state == RequestState::kOpen) open.push_back(r);
  });
  for (const auto& r : open) ledger.settle(r.request_id, r.reserved_tokens, 0.0);
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.reserved_tokens, 0);
  EXPECT_EQ(t.window.reserved_tokens, 0);
  EXPECT_LE(t.window.spent_tokens, kBudget);
  EXPECT_EQ(t.overall.requests, granted.load());
  const Totals summed = sum_of_records(ledger);
  EXPECT_EQ(summed.spent_tokens, t.window.spent_tokens);
}

}  // namespace
}  // namespace clearhouse::ledger::testing
