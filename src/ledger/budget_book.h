// The ledger's budget book: the in-memory state every reserve decides against. It holds the budget
// (window length and global cap), the per-key budgets, the charges of recent windows (open
// reservations and settled usage, overall and per key) and the open requests, all loaded from the
// SQLite store at open. The Ledger (ledger.h) journals each write before it records it here, so the
// book changes only for writes that are durable.
//
// Units: tokens (whole completion tokens); window starts and instants are milliseconds since the
// Unix epoch, as read from the Ledger's Clock (the book never reads a clock itself).
//
// Thread-safety: none; the Ledger guards its book with its state mutex.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ledger/ledger.h"
#include "ledger/store.h"

namespace clearhouse::ledger {

// The budget window holding an instant: fixed windows aligned to the epoch; with window_seconds <=
// 0 one window for all time (start 0, no end).
struct BudgetWindow {
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
};
[[nodiscard]] BudgetWindow window_at(std::int64_t now_ms, std::int64_t window_seconds);

// Tokens left under budget after charged (clamped at 0); nullopt when there is no budget.
[[nodiscard]] std::optional<std::int64_t> tokens_remaining(std::optional<std::int64_t> budget,
                                                           std::int64_t charged);

[[nodiscard]] WindowTotals make_window_totals(const BudgetWindow& window, std::int64_t reserved,
                                              std::int64_t used,
                                              std::optional<std::int64_t> budget);

class BudgetBook {
 public:
  // What a window (or one key in it) is charged: open reservations and closed usage, in tokens.
  struct Charge {
    std::int64_t reserved = 0;
    std::int64_t used = 0;
    [[nodiscard]] std::int64_t total() const { return reserved + used; }
  };
  struct OpenRequest {
    std::string key_id;
    std::int64_t reserved_tokens = 0;
    std::int64_t window_start_ms = 0;
  };

  // Loads the budget, the key budgets, the open requests and the windows' charges from store, which
  // must hold every write (at open, after the journal was recovered).
  void load(LedgerStore& store, std::int64_t now_ms);

  [[nodiscard]] const BudgetConfig& config() const { return budget_; }
  // A new window length starts windows of that length: their charges are reloaded from store (which
  // must hold every write: the caller keeps writers out and has applied the journal).
  void set_config(const BudgetConfig& config, LedgerStore& store, std::int64_t now_ms);

  [[nodiscard]] std::optional<std::int64_t> key_budget(std::string_view key) const;
  [[nodiscard]] std::map<std::string, std::int64_t> key_budgets() const;
  void set_key_budget(std::string_view key, std::optional<std::int64_t> tokens);

  [[nodiscard]] Charge window_charge(std::int64_t window_start_ms) const;
  [[nodiscard]] Charge key_charge(std::int64_t window_start_ms, const std::string& key) const;

  // True when a window's charges are no longer in memory (it is older than the kept ones: the clock
  // went back more than two windows), so a reserve in it cannot be decided.
  [[nodiscard]] bool window_forgotten(std::int64_t window_start_ms) const;
  [[nodiscard]] std::int64_t newest_window() const { return newest_window_; }

  [[nodiscard]] bool is_open(const std::string& request_id) const {
    return open_.contains(request_id);
  }
  // The open request with this id, or nullptr.
  [[nodiscard]] const OpenRequest* find_open(const std::string& request_id) const;

  // Records a reservation: charges its window and key, and keeps it open.
  void open_request(std::string request_id, OpenRequest request);
  // Records the close of an open request (settle, release, reconcile): its reservation leaves the
  // window's charges and used_tokens join them.
  void close_request(const std::string& request_id, const std::string& key_id,
                     std::int64_t window_start_ms, std::int64_t reserved_tokens,
                     std::int64_t used_tokens);

  // The current window's totals, of the global budget (key == nullptr) or of one key's.
  [[nodiscard]] WindowTotals window_totals(std::int64_t now_ms, const std::string* key) const;

 private:
  struct WindowCharges {
    Charge all;
    std::unordered_map<std::string, Charge> by_key;
    std::int64_t open_requests = 0;  // a window with none, two windows back, is dropped from memory
  };

  void load_windows(LedgerStore& store, std::int64_t now_ms);
  void note_window(std::int64_t window_start_ms);
  // open_delta: +1 for a reserve, -1 for a close.
  void charge(std::int64_t window_start_ms, const std::string& key, std::int64_t reserved,
              std::int64_t used, int open_delta);

  BudgetConfig budget_;
  std::map<std::string, std::int64_t, std::less<>> key_budgets_;
  std::map<std::int64_t, WindowCharges> windows_;  // recent windows with usage (note_window)
  std::int64_t newest_window_ = std::numeric_limits<std::int64_t>::min();
  std::int64_t oldest_kept_window_ = std::numeric_limits<std::int64_t>::min();
  std::unordered_map<std::string, OpenRequest> open_;
};

}  // namespace clearhouse::ledger
