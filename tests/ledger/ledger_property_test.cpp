// Property test: random reserve/settle/release/clock sequences (seeded) against an in-memory model.
// Every decision matches the model, no window ever holds more than its budgets, the ledger's window
// aggregates always equal the sums over its rows, and settling everything leaves zero reservations.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger::testing {
namespace {

struct ModelRequest {
  std::string key;
  std::int64_t window = 0;
  std::int64_t reserved = 0;
  std::int64_t used = 0;
  bool open = true;
};

struct Model {
  std::int64_t global_budget = 0;
  std::map<std::string, std::int64_t> key_budgets;
  std::map<std::string, ModelRequest> requests;

  std::int64_t charged(std::int64_t window, const std::string* key) const {
    std::int64_t sum = 0;
    for (const auto& [id, r] : requests) {
      if (r.window != window || (key != nullptr && r.key != *key)) continue;
      sum += r.open ? r.reserved : r.used;
    }
    return sum;
  }

  ReserveStatus expect_reserve(const std::string& id, const std::string& key, std::int64_t window,
                               std::int64_t tokens) const {
    if (requests.contains(id)) return ReserveStatus::kDuplicateId;
    if (charged(window, nullptr) + tokens > global_budget) return ReserveStatus::kOverGlobalBudget;
    const auto kb = key_budgets.find(key);
    if (kb != key_budgets.end() && charged(window, &key) + tokens > kb->second) {
      return ReserveStatus::kOverKeyBudget;
    }
    return ReserveStatus::kReserved;
  }
};

void run_sequence(std::uint64_t seed, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  base::ManualClock clock(kT0 + uniform(0, 3'600'000));
  Ledger ledger = Ledger::open(ledger_path("ledger-" + std::to_string(seed) + ".db"), clock);
  constexpr std::int64_t kWindowSeconds = 60;
  Model model;
  model.global_budget = uniform(200, 2000);
  model.key_budgets = {{"a", uniform(50, model.global_budget)}, {"b", uniform(50, 400)}};
  ledger.configure_budget({.window_seconds = kWindowSeconds, .global_tokens = model.global_budget});
  for (const auto& [key, budget] : model.key_budgets) ledger.set_key_budget(key, budget);
  const std::vector<std::string> keys = {"a", "b", "c"};

  std::vector<std::string> ids;  // every id ever tried, for duplicates and closing
  for (int step = 0; step < steps; ++step) {
    const std::int64_t window = ledger.window_totals().window_start_ms;
    const int op = static_cast<int>(uniform(0, 99));
    if (op < 45 || ids.empty()) {
      const bool reuse = !ids.empty() && uniform(0, 19) == 0;
      const std::string id = reuse ? ids[uniform(0, static_cast<std::int64_t>(ids.size()) - 1)]
                                   : "r" + std::to_string(step);
      const std::string& key = keys[uniform(0, 2)];
      const std::int64_t tokens = uniform(0, model.global_budget / 3);
      const ReserveStatus want = model.expect_reserve(id, key, window, tokens);
      const ReserveResult got = ledger.reserve(id, key, "u" + std::to_string(step % 2), tokens);
      ASSERT_EQ(got.status, want) << "step " << step;
      if (want == ReserveStatus::kReserved) {
        model.requests[id] = {key, window, tokens, 0, true};
        ids.push_back(id);
      }
    } else if (op < 90) {
      const std::string& id = ids[uniform(0, static_cast<std::int64_t>(ids.size()) - 1)];
      ModelRequest& m = model.requests[id];
      const bool settle = op < 75;
      const std::int64_t used = settle ? uniform(0, m.reserved) : 0;
      const CloseResult got = settle ? ledger.settle(id, used, 0.0) : ledger.release(id);
      ASSERT_EQ(got.status, m.open ? CloseStatus::kClosed : CloseStatus::kAlreadyClosed);
      if (m.open) {
        m.open = false;
        m.used = used;
      }
      ASSERT_EQ(got.used_tokens, m.used);
    } else {
      clock.advance_ms(uniform(0, 30'000));
    }
    // Invariants after every step.
    const std::int64_t now_window = ledger.window_totals().window_start_ms;
    const WindowTotals w = ledger.window_totals();
    ASSERT_EQ(w.spent_tokens + w.reserved_tokens, model.charged(now_window, nullptr));
    ASSERT_LE(w.spent_tokens + w.reserved_tokens, model.global_budget);
    for (const auto& [key, budget] : model.key_budgets) {
      const WindowTotals kw = ledger.key_window_totals(key);
      ASSERT_EQ(kw.spent_tokens + kw.reserved_tokens, model.charged(now_window, &key));
      ASSERT_LE(kw.spent_tokens + kw.reserved_tokens, budget);
    }
  }
  // Every past window stayed within budget too.
  std::map<std::int64_t, std::int64_t> per_window;
  for (const auto& [id, r] : model.requests) per_window[r.window] += r.open ? r.reserved : r.used;
  for (const auto& [window, charged] : per_window) EXPECT_LE(charged, model.global_budget);

  // Settle everything still open: no reservation is left behind.
  std::int64_t expected_spent = 0;
  for (auto& [id, m] : model.requests) {
    if (m.open) {
      ASSERT_EQ(ledger.settle(id, m.reserved / 2, 0.0).status, CloseStatus::kClosed);
      m.used = m.reserved / 2;
      m.open = false;
    }
    expected_spent += m.used;
  }
  const LedgerTotals t = ledger.totals();
  EXPECT_EQ(t.overall.reserved_tokens, 0);
  EXPECT_EQ(t.overall.open_requests, 0);
  EXPECT_EQ(t.window.reserved_tokens, 0);
  EXPECT_EQ(t.overall.spent_tokens, expected_spent);
  EXPECT_EQ(t.overall.requests, static_cast<std::int64_t>(model.requests.size()));
}

TEST(LedgerProperty, RandomSequencesMatchTheModelAndNeverExceedBudgets) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) run_sequence(seed, 400);
}

}  // namespace
}  // namespace clearhouse::ledger::testing
