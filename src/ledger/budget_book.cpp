#include "ledger/budget_book.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace clearhouse::ledger {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

BudgetWindow window_at(std::int64_t now_ms, std::int64_t window_seconds) {
  if (window_seconds <= 0) return {};
  const std::int64_t length = window_seconds * 1000;
  const std::int64_t start = floor_div(now_ms, length) * length;
  return {start, start + length};
}

std::optional<std::int64_t> tokens_remaining(std::optional<std::int64_t> budget,
                                             std::int64_t charged) {
  if (!budget) return std::nullopt;
  return std::max<std::int64_t>(0, *budget - charged);
}

WindowTotals make_window_totals(const BudgetWindow& window, std::int64_t reserved,
                                std::int64_t used, std::optional<std::int64_t> budget) {
  WindowTotals t;
  t.window_start_ms = window.start_ms;
  t.window_end_ms = window.end_ms;
  t.spent_tokens = used;
  t.reserved_tokens = reserved;
  t.budget_tokens = budget;
  t.remaining_tokens = tokens_remaining(budget, reserved + used);
  return t;
}

void BudgetBook::load(LedgerStore& store, std::int64_t now_ms) {
  budget_ = store.read_budget();
  key_budgets_.clear();
  for (auto& [key, tokens] : store.read_key_budgets()) key_budgets_.emplace(key, tokens);
  open_.clear();
  store.for_each_request(
      [&](const RequestRecord& r) {
        open_.emplace(r.request_id, OpenRequest{r.key_id, r.reserved_tokens, r.window_start_ms});
      },
      /*open_only=*/true);
  load_windows(store, now_ms);
}

void BudgetBook::set_config(const BudgetConfig& config, LedgerStore& store, std::int64_t now_ms) {
  const bool new_length = config.window_seconds != budget_.window_seconds;
  budget_ = config;
  if (new_length) load_windows(store, now_ms);
}

std::optional<std::int64_t> BudgetBook::key_budget(std::string_view key) const {
  const auto it = key_budgets_.find(key);
  if (it == key_budgets_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, std::int64_t> BudgetBook::key_budgets() const {
  return {key_budgets_.begin(), key_budgets_.end()};
}

void BudgetBook::set_key_budget(std::string_view key, std::optional<std::int64_t> tokens) {
  if (tokens) {
    key_budgets_.insert_or_assign(std::string(key), *tokens);
  } else if (const auto it = key_budgets_.find(key); it != key_budgets_.end()) {
    key_budgets_.erase(it);
  }
}

BudgetBook::Charge BudgetBook::window_charge(std::int64_t window_start_ms) const {
  const auto w = windows_.find(window_start_ms);
  return w == windows_.end() ? Charge{} : w->second.all;
}

BudgetBook::Charge BudgetBook::key_charge(std::int64_t window_start_ms,
                                          const std::string& key) const {
  const auto w = windows_.find(window_start_ms);
  if (w == windows_.end()) return {};
  const auto k = w->second.by_key.find(key);
  return k == w->second.by_key.end() ? Charge{} : k->second;
}

bool BudgetBook::window_forgotten(std::int64_t window_start_ms) const {
  return window_start_ms < oldest_kept_window_ && !windows_.contains(window_start_ms);
}

const BudgetBook::OpenRequest* BudgetBook::find_open(const std::string& request_id) const {
  const auto it = open_.find(request_id);
  return it == open_.end() ? nullptr : &it->second;
}

void BudgetBook::open_request(std::string request_id, OpenRequest request) {
  charge(request.window_start_ms, request.key_id, request.reserved_tokens, 0, +1);
  note_window(request.window_start_ms);
  open_.emplace(std::move(request_id), std::move(request));
}

void BudgetBook::close_request(const std::string& request_id, const std::string& key_id,
                               std::int64_t window_start_ms, std::int64_t reserved_tokens,
                               std::int64_t used_tokens) {
  charge(window_start_ms, key_id, -reserved_tokens, used_tokens, -1);
  open_.erase(request_id);
}

WindowTotals BudgetBook::window_totals(std::int64_t now_ms, const std::string* key) const {
  const BudgetWindow w = window_at(now_ms, budget_.window_seconds);
  const Charge c = key ? key_charge(w.start_ms, *key) : window_charge(w.start_ms);
  return make_window_totals(w, c.reserved, c.used, key ? key_budget(*key) : budget_.global_tokens);
}

// The windows' charges from SQLite, then drops the old ones.
void BudgetBook::load_windows(LedgerStore& store, std::int64_t now_ms) {
  windows_.clear();
  store.for_each_usage_row([&](const LedgerStore::UsageRow& row) {
    WindowCharges& w = windows_[row.window_start_ms];
    w.all.reserved += row.reserved_tokens;
    w.all.used += row.used_tokens;
    w.by_key[row.key_id] = {row.reserved_tokens, row.used_tokens};
  });
  for (const auto& [id, r] : open_) ++windows_[r.window_start_ms].open_requests;
  newest_window_ = std::numeric_limits<std::int64_t>::min();
  oldest_kept_window_ = std::numeric_limits<std::int64_t>::min();
  note_window(window_at(now_ms, budget_.window_seconds).start_ms);
}

// Memory holds every window from two windows before the newest one reserved in, plus older windows
// with open requests; older windows without any are dropped (SQLite keeps them). Their charges can
// never change again unless the clock goes back that far, which the Ledger's reserve refuses
// (window_forgotten).
void BudgetBook::note_window(std::int64_t window_start_ms) {
  if (budget_.window_seconds <= 0 || window_start_ms <= newest_window_) return;
  newest_window_ = window_start_ms;
  oldest_kept_window_ = window_start_ms - 2 * budget_.window_seconds * 1000;
  for (auto it = windows_.begin(); it != windows_.end() && it->first < oldest_kept_window_;) {
    it = it->second.open_requests == 0 ? windows_.erase(it) : std::next(it);
  }
}

void BudgetBook::charge(std::int64_t window_start_ms, const std::string& key, std::int64_t reserved,
                        std::int64_t used, int open_delta) {
  WindowCharges& w = windows_[window_start_ms];
  w.open_requests += open_delta;
  w.all.reserved += reserved;
  w.all.used += used;
  Charge& k = w.by_key[key];
  k.reserved += reserved;
  k.used += used;
}

}  // namespace clearhouse::ledger
