// BudgetViewCache: the pacer's view of the global budget's window (budget, remaining tokens, window
// bounds) without a ledger read on every request. Reading Ledger::window_totals() per request costs
// two SQLite statements under the ledger's lock, which every reserve and settle also need.
//
// The pacer only needs `remaining` approximately (it sets a cap; it guarantees nothing): the
// ledger's reserve() checks the budget exactly inside its transaction, so overshoot stays zero
// whatever the view says. The view is refreshed from every reserve's result (which reports the
// window's remaining tokens exactly, as of that reserve), and read from the ledger when it is older
// than max_age_ms or its window has ended. Between reserves it misses only the tokens settlements
// returned since (the view is then slightly low: the pacer errs on the cautious side).
//
// Units: tokens; milliseconds on the ledger's Clock. Thread-safety: all members may be called
// concurrently (one small mutex; the ledger read happens under it, at most once per max_age_ms).
//
//   BudgetViewCache budget(ledger);
//   PacerDecision d = pacer.decide(tau_hat, now_ms, budget.get(now_ms));
//   ReserveResult r = ledger.reserve(id, key, upstream, d.cap);
//   budget.observe(r, now_ms);
#pragma once

#include <cstdint>
#include <mutex>

#include "gateway/pacer.h"
#include "ledger/ledger.h"

namespace clearhouse::gateway {

class BudgetViewCache {
 public:
  // The ledger must outlive the cache. max_age_ms >= 0 (0: read the ledger on every get()).
  explicit BudgetViewCache(const ledger::Ledger& ledger, std::int64_t max_age_ms = 100);

  [[nodiscard]] BudgetView get(std::int64_t now_ms);
  // Takes the exact remaining tokens from a reserve's result (any status but kDuplicateId).
  void observe(const ledger::ReserveResult& result, std::int64_t now_ms);

 private:
  const ledger::Ledger& ledger_;
  const std::int64_t max_age_ms_;
  std::mutex mutex_;
  bool valid_ = false;
  std::int64_t as_of_ms_ = 0;
  BudgetView view_;
};

}  // namespace clearhouse::gateway
