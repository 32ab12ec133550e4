#include "gateway/ledger.h"

#include <algorithm>
#include <mutex>
#include <span>
#include <stdexcept>
#include <utility>

#include "gateway/ledger_checkpointer.h"
#include "gateway/ledger_group_commit.h"
#include "gateway/ledger_schema.h"
#include "gateway/ledger_sqlite.h"

namespace clearhouse::gateway {

namespace {

void check_id(std::string_view value, const char* what, bool allow_empty) {
  if ((!allow_empty && value.empty()) || value.size() > kMaxLedgerIdLength) {
    throw std::invalid_argument(std::string("ledger: ") + what + " must be 1.." +
                                std::to_string(kMaxLedgerIdLength) + " bytes");
  }
}

void check_tokens(std::int64_t tokens, const char* what) {
  if (tokens < 0 || tokens > kMaxLedgerTokens) {
    throw std::invalid_argument(std::string("ledger: ") + what + " out of range: " +
                                std::to_string(tokens));
  }
}

RequestState parse_state(const std::string& s) {
  if (s == "open") return RequestState::kOpen;
  if (s == "settled") return RequestState::kSettled;
  if (s == "released") return RequestState::kReleased;
  if (s == "reconciled") return RequestState::kReconciled;
  throw LedgerError("ledger: corrupt request state '" + s + "'");
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct Window {
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
};

Window window_at(std::int64_t now_ms, std::int64_t window_seconds) {
  if (window_seconds <= 0) return {};
  const std::int64_t length = window_seconds * 1000;
  const std::int64_t start = floor_div(now_ms, length) * length;
  return {start, start + length};
}

std::optional<std::int64_t> remaining(std::optional<std::int64_t> budget, std::int64_t charged) {
  if (!budget) return std::nullopt;
  return std::max<std::int64_t>(0, *budget - charged);
}

constexpr const char* kRequestColumns =
    "request_id, key_id, upstream, state, reserved_tokens, used_tokens, payment_usd, "
    "window_start_ms, reserved_at_ms, closed_at_ms";

RequestRecord read_record(const sqlite::Statement& s) {
  RequestRecord r;
  r.request_id = s.text(0);
  r.key_id = s.text(1);
  r.upstream = s.text(2);
  r.state = parse_state(s.text(3));
  r.reserved_tokens = s.int64(4);
  r.used_tokens = s.optional_int64(5);
  r.payment_usd = s.is_null(6) ? 0.0 : s.real(6);
  r.window_start_ms = s.int64(7);
  r.reserved_at_ms = s.int64(8);
  r.closed_at_ms = s.optional_int64(9);
  return r;
}

}  // namespace

std::string_view to_string(RequestState state) {
  switch (state) {
    case RequestState::kOpen: return "open";
    case RequestState::kSettled: return "settled";
    case RequestState::kReleased: return "released";
    case RequestState::kReconciled: return "reconciled";
  }
  return "?";
}

std::string_view to_string(ReserveStatus status) {
  switch (status) {
    case ReserveStatus::kReserved: return "reserved";
    case ReserveStatus::kOverGlobalBudget: return "over global budget";
    case ReserveStatus::kOverKeyBudget: return "over key budget";
    case ReserveStatus::kDuplicateId: return "duplicate request id";
  }
  return "?";
}

std::string_view to_string(CloseStatus status) {
  switch (status) {
    case CloseStatus::kClosed: return "closed";
    case CloseStatus::kAlreadyClosed: return "already settled";
    case CloseStatus::kUnknownId: return "unknown request id";
  }
  return "?";
}

namespace {

// Sets the connection up (WAL, durability) and brings the schema to the current version; runs before
// any statement of Impl is prepared. Returns the version found on disk.
int prepare_connection(sqlite::Connection& db, const LedgerOptions& o) {
  try {
    if (!o.read_only) {
      // Both pragmas return a row; exec ignores it. journal_mode=WAL persists in the file.
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(o.durability == Durability::kPowerLoss ? "PRAGMA synchronous = FULL"
                                                     : "PRAGMA synchronous = NORMAL");
      // After a checkpoint the WAL is reused from its start; cap the file's size left on disk.
      db.exec("PRAGMA journal_size_limit = 67108864");
    }
    return open_schema(db, o.read_only);
  } catch (const LedgerError& e) {
    const std::string what = e.what();
    // SQLite says "file is not a database" for a file that is not SQLite or whose header is
    // damaged: name it the way an operator would look for it.
    if (what.find("file is not a database") != std::string::npos ||
        what.find("malformed") != std::string::npos) {
      const std::string reason = what.substr(what.rfind(": ") + 2);
      throw LedgerError(db.path() + ": corrupt or not a clearhouse ledger (" + reason + ")");
    }
    throw;
  }
}

CloseResult describe(const RequestRecord& r, CloseStatus status) {
  CloseResult c;
  c.status = status;
  c.state = r.state;
  c.reserved_tokens = r.reserved_tokens;
  c.used_tokens = r.used_tokens.value_or(0);
  c.released_tokens = std::max<std::int64_t>(0, c.reserved_tokens - c.used_tokens);
  c.overrun_tokens = std::max<std::int64_t>(0, c.used_tokens - c.reserved_tokens);
  return c;
}

}  // namespace

struct Ledger::Impl {
  Impl(const std::string& path, const Clock& c, const LedgerOptions& o)
      : clock(c), options(o), db(path, o.read_only), found_version(prepare_connection(db, o)) {
    if (!o.read_only) checkpointer = std::make_unique<Checkpointer>(path, db);
  }

  // GroupCommit's runner: the batch's writes in one transaction. If any write or the commit fails,
  // everything rolled back; each write then runs again in a transaction of its own, so each caller
  // gets its own outcome and one failing write cannot take the others down with it.
  void run_batch(std::span<GroupCommit::Write* const> batch) {
    std::lock_guard lock(mu);
    try {
      sqlite::Transaction tx(db);
      for (GroupCommit::Write* w : batch) (*w->apply)();
      tx.commit();
      return;
    } catch (...) {
      if (batch.size() == 1) {
        batch.front()->error = std::current_exception();
        return;
      }
    }
    for (GroupCommit::Write* w : batch) {
      try {
        sqlite::Transaction tx(db);
        (*w->apply)();
        tx.commit();
      } catch (...) {
        w->error = std::current_exception();
      }
    }
  }

  // reserve()'s check-and-insert, inside the batch's transaction (which sees the batch's earlier
  // writes, so the writes of one batch are checked against each other exactly as if serial). A
  // refusal writes nothing.
  ReserveResult reserve_in_batch(std::string_view request_id, std::string_view key_id,
                                 std::string_view upstream, std::int64_t tokens) {
    const BudgetConfig config = read_budget();
    const std::int64_t now = clock.now_ms();
    const Window w = window_at(now, config.window_seconds);
    ReserveResult result;
    result.window_start_ms = w.start_ms;
    result.window_end_ms = w.end_ms;

    const auto [all_reserved, all_used] = window_charge(w.start_ms, std::nullopt);
    const auto [key_reserved, key_used] = window_charge(w.start_ms, key_id);
    const std::int64_t global_charged = all_reserved + all_used;
    const std::int64_t key_charged = key_reserved + key_used;
    const std::optional<std::int64_t> key_budget = read_key_budget(key_id);
    result.global_remaining = remaining(config.global_tokens, global_charged);
    result.key_remaining = remaining(key_budget, key_charged);

    if (find_locked(request_id)) {
      result.status = ReserveStatus::kDuplicateId;
      return result;
    }
    if (config.global_tokens && global_charged + tokens > *config.global_tokens) {
      result.status = ReserveStatus::kOverGlobalBudget;
      return result;
    }
    if (key_budget && key_charged + tokens > *key_budget) {
      result.status = ReserveStatus::kOverKeyBudget;
      return result;
    }
    insert_stmt.reset()
        .bind(1, request_id)
        .bind(2, key_id)
        .bind(3, upstream)
        .bind(4, tokens)
        .bind(5, w.start_ms)
        .bind(6, now)
        .run();
    add_usage(w.start_ms, key_id, tokens, 0);
    result.status = ReserveStatus::kReserved;
    result.global_remaining = remaining(config.global_tokens, global_charged + tokens);
    result.key_remaining = remaining(key_budget, key_charged + tokens);
    return result;
  }

  // settle() (state kSettled) or release() (kReleased, 0 used), inside the batch's transaction.
  CloseResult close_in_batch(std::string_view request_id, RequestState state, std::int64_t used,
                             double payment) {
    std::optional<RequestRecord> r = find_locked(request_id);
    if (!r) {
      CloseResult c;
      c.status = CloseStatus::kUnknownId;
      return c;
    }
    if (r->state != RequestState::kOpen) return describe(*r, CloseStatus::kAlreadyClosed);
    close_locked(*r, state, used, payment);
    r->state = state;
    r->used_tokens = used;
    return describe(*r, CloseStatus::kClosed);
  }

  void require_writable() const {
    if (options.read_only) throw LedgerError(db.path() + ": ledger opened read-only");
  }

  BudgetConfig read_budget() {
    sqlite::Statement& s = budget_stmt;
    s.reset();
    if (!s.step()) throw LedgerError(db.path() + ": corrupt ledger: no budget row");
    BudgetConfig c;
    c.window_seconds = s.int64(0);
    if (!s.is_null(1)) c.global_tokens = s.int64(1);
    s.reset();
    return c;
  }

  std::optional<std::int64_t> read_key_budget(std::string_view key) {
    key_budget_stmt.reset().bind(1, key);
    std::optional<std::int64_t> out;
    if (key_budget_stmt.step()) out = key_budget_stmt.int64(0);
    key_budget_stmt.reset();
    return out;
  }

  // Open caps + closed usage charged to a window: for all keys, or one.
  std::pair<std::int64_t, std::int64_t> window_charge(std::int64_t start,
                                                      std::optional<std::string_view> key) {
    sqlite::Statement& s = key ? window_key_stmt : window_all_stmt;
    s.reset().bind(1, start);
    if (key) s.bind(2, *key);
    std::pair<std::int64_t, std::int64_t> out{0, 0};
    if (s.step()) out = {s.int64(0), s.int64(1)};
    s.reset();
    return out;
  }

  std::optional<RequestRecord> find_locked(std::string_view id) {
    find_stmt.reset().bind(1, id);
    std::optional<RequestRecord> out;
    if (find_stmt.step()) out = read_record(find_stmt);
    find_stmt.reset();
    return out;
  }

  void add_usage(std::int64_t window_start, std::string_view key, std::int64_t reserved,
                 std::int64_t used) {
    usage_stmt.reset().bind(1, window_start).bind(2, key).bind(3, reserved).bind(4, used).run();
  }

  // Closes an open request inside the caller's transaction.
  void close_locked(const RequestRecord& r, RequestState state, std::int64_t used, double payment) {
    close_stmt.reset()
        .bind(1, to_string(state))
        .bind(2, used)
        .bind(3, payment)
        .bind(4, clock.now_ms())
        .bind(5, r.request_id)
        .run();
    if (db.changes() != 1) throw LedgerError(db.path() + ": request changed under the writer");
    add_usage(r.window_start_ms, r.key_id, -r.reserved_tokens, used);
  }

  WindowTotals window_totals_locked(std::optional<std::string_view> key) {
    const BudgetConfig config = read_budget();
    const Window w = window_at(clock.now_ms(), config.window_seconds);
    const auto [reserved, used] = window_charge(w.start_ms, key);
    WindowTotals t;
    t.window_start_ms = w.start_ms;
    t.window_end_ms = w.end_ms;
    t.spent_tokens = used;
    t.reserved_tokens = reserved;
    t.budget_tokens = key ? read_key_budget(*key) : config.global_tokens;
    t.remaining_tokens = remaining(t.budget_tokens, reserved + used);
    return t;
  }

  const Clock& clock;
  LedgerOptions options;
  mutable std::mutex mu;
  sqlite::Connection db;
  int found_version;  // before migration; 0 for a new file
  sqlite::Statement budget_stmt{db, "SELECT window_seconds, global_tokens FROM budget WHERE id = 1"};
  sqlite::Statement key_budget_stmt{db, "SELECT tokens FROM key_budgets WHERE key_id = ?"};
  sqlite::Statement window_all_stmt{
      db,
      "SELECT coalesce(sum(reserved_tokens), 0), coalesce(sum(used_tokens), 0) FROM window_usage "
      "WHERE window_start_ms = ?"};
  sqlite::Statement window_key_stmt{
      db,
      "SELECT reserved_tokens, used_tokens FROM window_usage WHERE window_start_ms = ? AND "
      "key_id = ?"};
  sqlite::Statement find_stmt{
      db, std::string("SELECT ") + kRequestColumns + " FROM requests WHERE request_id = ?"};
  sqlite::Statement insert_stmt{
      db,
      "INSERT INTO requests (request_id, key_id, upstream, state, reserved_tokens, "
      "window_start_ms, reserved_at_ms) VALUES (?, ?, ?, 'open', ?, ?, ?)"};
  sqlite::Statement usage_stmt{
      db,
      "INSERT INTO window_usage (window_start_ms, key_id, reserved_tokens, used_tokens) "
      "VALUES (?, ?, ?, ?) ON CONFLICT (window_start_ms, key_id) DO UPDATE SET "
      "reserved_tokens = reserved_tokens + excluded.reserved_tokens, "
      "used_tokens = used_tokens + excluded.used_tokens"};
  sqlite::Statement close_stmt{
      db,
      "UPDATE requests SET state = ?, used_tokens = ?, payment_usd = ?, closed_at_ms = ? "
      "WHERE request_id = ? AND state = 'open'"};
  // Declared after db: stopped and closed before the writer's connection closes.
  std::unique_ptr<Checkpointer> checkpointer;
  GroupCommit commits{[this](std::span<GroupCommit::Write* const> batch) { run_batch(batch); }};
};

Ledger Ledger::open(const std::string& path, const Clock& clock, const LedgerOptions& options) {
  return Ledger(std::make_unique<Impl>(path, clock, options));
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;
Ledger::~Ledger() = default;

int Ledger::current_schema_version() { return kLedgerSchemaVersion; }

int Ledger::schema_version() const {
  std::lock_guard lock(impl_->mu);
  sqlite::Statement s(impl_->db, "SELECT version FROM schema_version");
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}

void Ledger::configure_budget(const BudgetConfig& config) {
  if (config.window_seconds < 0 || config.window_seconds > (std::int64_t{1} << 40)) {
    throw std::invalid_argument("ledger: window_seconds out of range");
  }
  if (config.global_tokens) check_tokens(*config.global_tokens, "global budget");
  std::lock_guard lock(impl_->mu);
  impl_->require_writable();
  sqlite::Statement s(impl_->db, "UPDATE budget SET window_seconds = ?, global_tokens = ? WHERE id = 1");
  s.bind(1, config.window_seconds);
  if (config.global_tokens) {
    s.bind(2, *config.global_tokens);
  } else {
    s.bind_null(2);
  }
  s.run();
}

BudgetConfig Ledger::budget() const {
  std::lock_guard lock(impl_->mu);
  return impl_->read_budget();
}

void Ledger::set_key_budget(std::string_view key_id, std::optional<std::int64_t> tokens) {
  check_id(key_id, "key id", true);
  if (tokens) check_tokens(*tokens, "key budget");
  std::lock_guard lock(impl_->mu);
  impl_->require_writable();
  if (tokens) {
    sqlite::Statement s(impl_->db,
                        "INSERT INTO key_budgets (key_id, tokens) VALUES (?, ?) ON CONFLICT (key_id) "
                        "DO UPDATE SET tokens = excluded.tokens");
    s.bind(1, key_id).bind(2, *tokens).run();
  } else {
    sqlite::Statement s(impl_->db, "DELETE FROM key_budgets WHERE key_id = ?");
    s.bind(1, key_id).run();
  }
}

std::map<std::string, std::int64_t> Ledger::key_budgets() const {
  std::lock_guard lock(impl_->mu);
  sqlite::Statement s(impl_->db, "SELECT key_id, tokens FROM key_budgets ORDER BY key_id");
  std::map<std::string, std::int64_t> out;
  while (s.step()) out[s.text(0)] = s.int64(1);
  return out;
}

ReserveResult Ledger::reserve(std::string_view request_id, std::string_view key_id,
                              std::string_view upstream, std::int64_t tokens) {
  check_id(request_id, "request id", false);
  check_id(key_id, "key id", true);
  check_id(upstream, "upstream", true);
  check_tokens(tokens, "reserved tokens");
  Impl& m = *impl_;
  m.require_writable();
  ReserveResult result;
  m.commits.submit([&] { result = m.reserve_in_batch(request_id, key_id, upstream, tokens); });
  return result;
}


CloseResult Ledger::settle(std::string_view request_id, std::int64_t used_tokens,
                           double payment_usd) {
  check_id(request_id, "request id", false);
  check_tokens(used_tokens, "used tokens");
  if (!(payment_usd >= 0.0) || payment_usd > 1e15) {
    throw std::invalid_argument("ledger: payment_usd must be finite and >= 0");
  }
  Impl& m = *impl_;
  m.require_writable();
  CloseResult result;
  m.commits.submit(
      [&] { result = m.close_in_batch(request_id, RequestState::kSettled, used_tokens, payment_usd); });
  return result;
}

CloseResult Ledger::release(std::string_view request_id) {
  check_id(request_id, "request id", false);
  Impl& m = *impl_;
  m.require_writable();
  CloseResult result;
  m.commits.submit([&] { result = m.close_in_batch(request_id, RequestState::kReleased, 0, 0.0); });
  return result;
}

ReconcileReport Ledger::reconcile_after_restart(ReconcilePolicy policy,
                                                const std::map<std::string, double>& usd_per_token) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  m.require_writable();
  sqlite::Transaction tx(m.db);
  std::vector<RequestRecord> open;
  {
    sqlite::Statement s(m.db, std::string("SELECT ") + kRequestColumns +
                                  " FROM requests WHERE state = 'open' ORDER BY seq");
    while (s.step()) open.push_back(read_record(s));
  }
  ReconcileReport report;
  for (RequestRecord& r : open) {
    if (policy == ReconcilePolicy::kCountAsFullyUsed) {
      const auto price = usd_per_token.find(r.upstream);
      const double payment =
          price == usd_per_token.end() ? 0.0 : price->second * static_cast<double>(r.reserved_tokens);
      m.close_locked(r, RequestState::kReconciled, r.reserved_tokens, payment);
      r.state = RequestState::kReconciled;
      r.used_tokens = r.reserved_tokens;
      r.payment_usd = payment;
      report.counted_tokens += r.reserved_tokens;
    } else {
      m.close_locked(r, RequestState::kReleased, 0, 0.0);
      r.state = RequestState::kReleased;
      r.used_tokens = 0;
      report.released_tokens += r.reserved_tokens;
    }
    r.closed_at_ms = m.clock.now_ms();
  }
  tx.commit();
  report.requests = std::move(open);
  return report;
}

std::optional<RequestRecord> Ledger::find(std::string_view request_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->find_locked(request_id);
}

namespace {

void accumulate(sqlite::Statement& s, const std::function<void(std::string, Totals)>& put) {
  while (s.step()) {
    Totals t;
    t.requests = s.int64(1);
    t.open_requests = s.int64(2);
    t.spent_tokens = s.int64(3);
    t.reserved_tokens = s.int64(4);
    t.payment_usd = s.real(5);
    put(s.text(0), t);
  }
}

constexpr const char* kTotalsColumns =
    "count(*), coalesce(sum(state = 'open'), 0), "
    "coalesce(sum(CASE WHEN state = 'open' THEN 0 ELSE used_tokens END), 0), "
    "coalesce(sum(CASE WHEN state = 'open' THEN reserved_tokens ELSE 0 END), 0), "
    "coalesce(sum(payment_usd), 0.0)";

}  // namespace

LedgerTotals Ledger::totals() const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  // One read transaction, so every figure comes from the same snapshot.
  m.db.exec("BEGIN");
  try {
    LedgerTotals out;
    {
      sqlite::Statement s(m.db, std::string("SELECT '', ") + kTotalsColumns + " FROM requests");
      accumulate(s, [&](std::string, Totals t) { out.overall = t; });
    }
    {
      sqlite::Statement s(m.db, std::string("SELECT key_id, ") + kTotalsColumns +
                                    " FROM requests GROUP BY key_id");
      accumulate(s, [&](std::string k, Totals t) { out.by_key[std::move(k)] = t; });
    }
    {
      sqlite::Statement s(m.db, std::string("SELECT upstream, ") + kTotalsColumns +
                                    " FROM requests GROUP BY upstream");
      accumulate(s, [&](std::string u, Totals t) { out.by_upstream[std::move(u)] = t; });
    }
    out.window = m.window_totals_locked(std::nullopt);
    std::vector<std::string> keys;
    {
      sqlite::Statement s(m.db,
                          "SELECT key_id FROM key_budgets UNION SELECT key_id FROM window_usage "
                          "WHERE window_start_ms = ?");
      s.bind(1, out.window.window_start_ms);
      while (s.step()) keys.push_back(s.text(0));
    }
    for (const std::string& k : keys) out.key_windows[k] = m.window_totals_locked(k);
    m.db.exec("COMMIT");
    return out;
  } catch (...) {
    m.db.exec("ROLLBACK");
    throw;
  }
}

WindowTotals Ledger::window_totals() const {
  std::lock_guard lock(impl_->mu);
  return impl_->window_totals_locked(std::nullopt);
}

WindowTotals Ledger::key_window_totals(std::string_view key_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->window_totals_locked(key_id);
}

LedgerWriteStats Ledger::write_stats() const {
  const GroupCommit::Stats s = impl_->commits.stats();
  return {.commits = s.batches, .writes = s.writes, .largest_batch = s.largest_batch};
}

void Ledger::for_each_request(const std::function<void(const RequestRecord&)>& visit) const {
  std::lock_guard lock(impl_->mu);
  sqlite::Statement s(impl_->db,
                      std::string("SELECT ") + kRequestColumns + " FROM requests ORDER BY seq");
  while (s.step()) visit(read_record(s));
}

}  // namespace clearhouse::gateway
