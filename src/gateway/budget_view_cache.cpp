#include "gateway/budget_view_cache.h"

#include <cassert>

namespace clearhouse::gateway {

BudgetViewCache::BudgetViewCache(const ledger::Ledger& ledger, std::int64_t max_age_ms)
    : ledger_(ledger), max_age_ms_(max_age_ms) {
  assert(max_age_ms >= 0);
}

BudgetView BudgetViewCache::get(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const bool window_over = view_.window_end_ms && now_ms >= *view_.window_end_ms;
  if (!valid_ || window_over || now_ms - as_of_ms_ >= max_age_ms_ || now_ms < as_of_ms_) {
    const ledger::WindowTotals w = ledger_.window_totals();
    view_ = {w.budget_tokens.value_or(0), w.remaining_tokens.value_or(0), w.window_start_ms,
             w.window_end_ms};
    as_of_ms_ = now_ms;
    valid_ = true;
  }
  return view_;
}

void BudgetViewCache::observe(const ledger::ReserveResult& result, std::int64_t now_ms) {
  if (result.status == ledger::ReserveStatus::kDuplicateId || !result.global_remaining) return;
  std::lock_guard lock(mutex_);
  // A reserve from an earlier window than the view's (a request that raced the window's end) says
  // nothing about the current one.
  if (valid_ && result.window_start_ms < view_.window_start_ms) return;
  if (!valid_ || result.window_start_ms != view_.window_start_ms) {
    valid_ = false;  // a new window: its budget is read from the ledger on the next get()
    return;
  }
  view_.remaining_tokens = *result.global_remaining;
  as_of_ms_ = now_ms;
}

}  // namespace clearhouse::gateway
