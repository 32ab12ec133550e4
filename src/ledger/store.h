// The ledger's SQLite side, private to ledger*.cpp: the file, its schema, and every statement the
// ledger runs on it. The Ledger (ledger.h) decides in memory and journals each write
// (journal.h); the store holds what has been applied, and applies journal records in order.
//
// Thread-safety: none; the Ledger serialises all use of one store with its store mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/journal.h"
#include "ledger/ledger.h"
#include "ledger/sqlite.h"

namespace clearhouse::ledger {

class LedgerStore {
 public:
  // Opens (creating and migrating unless read-only) the ledger file. Throws LedgerError.
  LedgerStore(const std::string& path, const LedgerOptions& options);

  [[nodiscard]] sqlite::Connection& db() { return db_; }
  [[nodiscard]] const std::string& path() const { return db_.path(); }
  [[nodiscard]] int schema_version();

  [[nodiscard]] BudgetConfig read_budget();
  void write_budget(const BudgetConfig& config);
  [[nodiscard]] std::optional<std::int64_t> read_key_budget(std::string_view key);
  [[nodiscard]] std::map<std::string, std::int64_t> read_key_budgets();
  void write_key_budget(std::string_view key, std::optional<std::int64_t> tokens);

  // The last journal record applied (0: none). Records are applied inside the caller's transaction,
  // together with set_applied_seq, so a crash leaves either both or neither.
  [[nodiscard]] std::uint64_t applied_seq();
  void set_applied_seq(std::uint64_t seq);
  // Applies the records of `batch` (journal order) with seq > applied, as applying each in turn
  // would, in fewer statements: a request reserved and closed within the batch is inserted closed
  // (one row write, not an insert and an update), and window_usage gets one upsert per window and
  // key (the batch's deltas summed). Throws LedgerError for a close of a request that is not open.
  void apply_batch(std::span<const JournalRecord> batch, std::uint64_t applied);

  [[nodiscard]] std::optional<RequestRecord> find(std::string_view request_id);
  [[nodiscard]] bool exists(std::string_view request_id);
  void for_each_request(const std::function<void(const RequestRecord&)>& visit,
                        bool open_only = false);

  struct UsageRow {
    std::int64_t window_start_ms = 0;
    std::string key_id;
    std::int64_t reserved_tokens = 0;
    std::int64_t used_tokens = 0;
  };
  void for_each_usage_row(const std::function<void(const UsageRow&)>& visit);

  // Closes an open request inside the caller's transaction (reconcile).
  void close(const RequestRecord& r, RequestState state, std::int64_t used, double payment,
             std::int64_t now_ms);

  // Open caps and closed usage charged to a window: all keys, or one.
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> window_charge(
      std::int64_t window_start_ms, std::optional<std::string_view> key);
  // overall, by_key and by_upstream (not the windows), from one read transaction the caller holds.
  void fill_totals(LedgerTotals& out);
  // Keys with a budget or with usage in the window.
  [[nodiscard]] std::vector<std::string> window_keys(std::int64_t window_start_ms);

 private:
  // Closes the request's row if it is open; false when no open row had that id.
  bool close_open(std::string_view request_id, RequestState state, std::int64_t used,
                  double payment, std::int64_t at_ms, std::int64_t reasoning = 0);
  void add_usage(std::int64_t window_start, std::string_view key, std::int64_t reserved,
                 std::int64_t used);
  // Inserts the row of a reserve record: open, or already closed by `close` (a later record).
  void insert_request(const JournalRecord& reserve, const JournalRecord* close);

  sqlite::Connection db_;
  int found_version_;
  sqlite::Statement budget_stmt_;
  sqlite::Statement key_budget_stmt_;
  sqlite::Statement window_all_stmt_;
  sqlite::Statement window_key_stmt_;
  sqlite::Statement find_stmt_;
  sqlite::Statement exists_stmt_;
  sqlite::Statement insert_stmt_;
  sqlite::Statement insert_closed_stmt_;
  sqlite::Statement usage_stmt_;
  sqlite::Statement close_stmt_;
  sqlite::Statement applied_stmt_;
  sqlite::Statement set_applied_stmt_;
};

}  // namespace clearhouse::ledger
