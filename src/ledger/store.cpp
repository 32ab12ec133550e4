#include "ledger/store.h"

#include <unordered_map>

#include "ledger/schema.h"

namespace clearhouse::ledger {

namespace {

RequestState parse_state(const std::string& s) {
  if (s == "open") return RequestState::kOpen;
  if (s == "settled") return RequestState::kSettled;
  if (s == "released") return RequestState::kReleased;
  if (s == "reconciled") return RequestState::kReconciled;
  throw LedgerError("ledger: corrupt request state '" + s + "'");
}

constexpr const char* kRequestColumns =
    "request_id, key_id, upstream, state, reserved_tokens, used_tokens, payment_usd, "
    "window_start_ms, reserved_at_ms, closed_at_ms, reasoning_tokens";

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
  r.reasoning_tokens = s.int64(10);
  return r;
}

// Sets the connection up (WAL, durability) and brings the schema to the current version; runs
// before any statement is prepared. Returns the version found on disk.
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

constexpr const char* kTotalsColumns =
    "count(*), coalesce(sum(state = 'open'), 0), "
    "coalesce(sum(CASE WHEN state = 'open' THEN 0 ELSE used_tokens END), 0), "
    "coalesce(sum(CASE WHEN state = 'open' THEN reserved_tokens ELSE 0 END), 0), "
    "coalesce(sum(payment_usd), 0.0), coalesce(sum(reasoning_tokens), 0)";

void accumulate(sqlite::Statement& s, const std::function<void(std::string, Totals)>& put) {
  while (s.step()) {
    Totals t;
    t.requests = s.int64(1);
    t.open_requests = s.int64(2);
    t.spent_tokens = s.int64(3);
    t.reserved_tokens = s.int64(4);
    t.payment_usd = s.real(5);
    t.reasoning_tokens = s.int64(6);
    put(s.text(0), t);
  }
}

}  // namespace

LedgerStore::LedgerStore(const std::string& path, const LedgerOptions& options)
    : db_(path, options.read_only),
      found_version_(prepare_connection(db_, options)),
      budget_stmt_(db_, "SELECT window_seconds, global_tokens FROM budget WHERE id = 1"),
      key_budget_stmt_(db_, "SELECT tokens FROM key_budgets WHERE key_id = ?"),
      window_all_stmt_(db_,
                       "SELECT coalesce(sum(reserved_tokens), 0), coalesce(sum(used_tokens), 0) "
                       "FROM window_usage WHERE window_start_ms = ?"),
      window_key_stmt_(db_,
                       "SELECT reserved_tokens, used_tokens FROM window_usage WHERE "
                       "window_start_ms = ? AND key_id = ?"),
      find_stmt_(db_,
                 std::string("SELECT ") + kRequestColumns + " FROM requests WHERE request_id = ?"),
      exists_stmt_(db_, "SELECT 1 FROM requests WHERE request_id = ?"),
      insert_stmt_(db_,
                   "INSERT INTO requests (request_id, key_id, upstream, state, reserved_tokens, "
                   "window_start_ms, reserved_at_ms) VALUES (?, ?, ?, 'open', ?, ?, ?)"),
      insert_closed_stmt_(db_,
                          "INSERT INTO requests (request_id, key_id, upstream, state, "
                          "reserved_tokens, window_start_ms, reserved_at_ms, used_tokens, "
                          "payment_usd, closed_at_ms, reasoning_tokens) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      usage_stmt_(
          db_,
          "INSERT INTO window_usage (window_start_ms, key_id, reserved_tokens, used_tokens) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (window_start_ms, key_id) DO UPDATE SET "
          "reserved_tokens = reserved_tokens + excluded.reserved_tokens, "
          "used_tokens = used_tokens + excluded.used_tokens"),
      close_stmt_(
          db_,
          "UPDATE requests SET state = ?, used_tokens = ?, payment_usd = ?, closed_at_ms = ?, "
          "reasoning_tokens = ? WHERE request_id = ? AND state = 'open'"),
      applied_stmt_(db_, "SELECT applied_seq FROM journal_state WHERE id = 1"),
      set_applied_stmt_(db_, "UPDATE journal_state SET applied_seq = ? WHERE id = 1") {}

int LedgerStore::schema_version() {
  sqlite::Statement s(db_, "SELECT version FROM schema_version");
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}

BudgetConfig LedgerStore::read_budget() {
  budget_stmt_.reset();
  if (!budget_stmt_.step()) throw LedgerError(db_.path() + ": corrupt ledger: no budget row");
  BudgetConfig c;
  c.window_seconds = budget_stmt_.int64(0);
  if (!budget_stmt_.is_null(1)) c.global_tokens = budget_stmt_.int64(1);
  budget_stmt_.reset();
  return c;
}

void LedgerStore::write_budget(const BudgetConfig& config) {
  sqlite::Statement s(db_, "UPDATE budget SET window_seconds = ?, global_tokens = ? WHERE id = 1");
  s.bind(1, config.window_seconds);
  if (config.global_tokens) {
    s.bind(2, *config.global_tokens);
  } else {
    s.bind_null(2);
  }
  s.run();
}

std::optional<std::int64_t> LedgerStore::read_key_budget(std::string_view key) {
  key_budget_stmt_.reset().bind(1, key);
  std::optional<std::int64_t> out;
  if (key_budget_stmt_.step()) out = key_budget_stmt_.int64(0);
  key_budget_stmt_.reset();
  return out;
}

std::map<std::string, std::int64_t> LedgerStore::read_key_budgets() {
  sqlite::Statement s(db_, "SELECT key_id, tokens FROM key_budgets ORDER BY key_id");
  std::map<std::string, std::int64_t> out;
  while (s.step()) out[s.text(0)] = s.int64(1);
  return out;
}

void LedgerStore::write_key_budget(std::string_view key, std::optional<std::int64_t> tokens) {
  if (tokens) {
    sqlite::Statement s(
        db_,
        "INSERT INTO key_budgets (key_id, tokens) VALUES (?, ?) ON CONFLICT (key_id) "
        "DO UPDATE SET tokens = excluded.tokens");
    s.bind(1, key).bind(2, *tokens).run();
  } else {
    sqlite::Statement s(db_, "DELETE FROM key_budgets WHERE key_id = ?");
    s.bind(1, key).run();
  }
}

std::uint64_t LedgerStore::applied_seq() {
  applied_stmt_.reset();
  if (!applied_stmt_.step())
    throw LedgerError(db_.path() + ": corrupt ledger: no journal_state row");
  const auto seq = static_cast<std::uint64_t>(applied_stmt_.int64(0));
  applied_stmt_.reset();
  return seq;
}

void LedgerStore::set_applied_seq(std::uint64_t seq) {
  set_applied_stmt_.reset().bind(1, static_cast<std::int64_t>(seq)).run();
}

void LedgerStore::add_usage(std::int64_t window_start, std::string_view key, std::int64_t reserved,
                            std::int64_t used) {
  usage_stmt_.reset().bind(1, window_start).bind(2, key).bind(3, reserved).bind(4, used).run();
}

void LedgerStore::insert_request(const JournalRecord& reserve, const JournalRecord* close) {
  if (close == nullptr) {
    insert_stmt_.reset()
        .bind(1, reserve.request_id)
        .bind(2, reserve.key_id)
        .bind(3, reserve.upstream)
        .bind(4, reserve.reserved_tokens)
        .bind(5, reserve.window_start_ms)
        .bind(6, reserve.at_ms)
        .run();
    return;
  }
  // The row close_open would leave: a release records 0 used, 0 USD, 0 reasoning.
  const bool settle = close->kind == JournalRecord::Kind::kSettle;
  insert_closed_stmt_.reset()
      .bind(1, reserve.request_id)
      .bind(2, reserve.key_id)
      .bind(3, reserve.upstream)
      .bind(4, to_string(settle ? RequestState::kSettled : RequestState::kReleased))
      .bind(5, reserve.reserved_tokens)
      .bind(6, reserve.window_start_ms)
      .bind(7, reserve.at_ms)
      .bind(8, settle ? close->used_tokens : std::int64_t{0})
      .bind(9, settle ? close->payment_usd : 0.0)
      .bind(10, close->at_ms)
      .bind(11, settle ? close->reasoning_tokens : std::int64_t{0})
      .run();
}

void LedgerStore::apply_batch(std::span<const JournalRecord> batch, std::uint64_t applied) {
  // Reserves of this batch not closed yet (by id: index in batch), the close that follows each
  // (index), and window_usage's deltas per (window, key).
  std::unordered_map<std::string_view, std::size_t> open_here;
  std::vector<const JournalRecord*> closed_by(batch.size(), nullptr);
  std::map<std::pair<std::int64_t, std::string_view>, std::pair<std::int64_t, std::int64_t>> usage;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const JournalRecord& r = batch[i];
    if (r.seq <= applied) continue;
    auto& [reserved, used] = usage[{r.window_start_ms, r.key_id}];
    if (r.kind == JournalRecord::Kind::kReserve) {
      open_here[r.request_id] = i;
      reserved += r.reserved_tokens;
      continue;
    }
    const bool settle = r.kind == JournalRecord::Kind::kSettle;
    if (const auto it = open_here.find(r.request_id); it != open_here.end()) {
      closed_by[it->second] = &r;
      open_here.erase(it);
    } else if (!close_open(r.request_id, settle ? RequestState::kSettled : RequestState::kReleased,
                           settle ? r.used_tokens : 0, settle ? r.payment_usd : 0.0, r.at_ms,
                           settle ? r.reasoning_tokens : 0)) {
      throw LedgerError(db_.path() + ": journal record " + std::to_string(r.seq) +
                        " closes request " + r.request_id + ", which is not open in the ledger");
    }
    reserved -= r.reserved_tokens;
    used += settle ? r.used_tokens : 0;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].seq > applied && batch[i].kind == JournalRecord::Kind::kReserve) {
      insert_request(batch[i], closed_by[i]);
    }
  }
  for (const auto& [window_key, delta] : usage) {
    add_usage(window_key.first, window_key.second, delta.first, delta.second);
  }
}

void LedgerStore::close(const RequestRecord& r, RequestState state, std::int64_t used,
                        double payment, std::int64_t now_ms) {
  if (!close_open(r.request_id, state, used, payment, now_ms)) {
    throw LedgerError(db_.path() + ": request changed under the writer");
  }
  add_usage(r.window_start_ms, r.key_id, -r.reserved_tokens, used);
}

bool LedgerStore::close_open(std::string_view request_id, RequestState state, std::int64_t used,
                             double payment, std::int64_t at_ms, std::int64_t reasoning) {
  close_stmt_.reset()
      .bind(1, to_string(state))
      .bind(2, used)
      .bind(3, payment)
      .bind(4, at_ms)
      .bind(5, reasoning)
      .bind(6, request_id)
      .run();
  return db_.changes() == 1;
}

std::optional<RequestRecord> LedgerStore::find(std::string_view id) {
  find_stmt_.reset().bind(1, id);
  std::optional<RequestRecord> out;
  if (find_stmt_.step()) out = read_record(find_stmt_);
  find_stmt_.reset();
  return out;
}

bool LedgerStore::exists(std::string_view id) {
  exists_stmt_.reset().bind(1, id);
  const bool found = exists_stmt_.step();
  exists_stmt_.reset();
  return found;
}

void LedgerStore::for_each_request(const std::function<void(const RequestRecord&)>& visit,
                                   bool open_only) {
  sqlite::Statement s(db_, std::string("SELECT ") + kRequestColumns + " FROM requests" +
                               (open_only ? " WHERE state = 'open'" : "") + " ORDER BY seq");
  while (s.step()) visit(read_record(s));
}

void LedgerStore::for_each_usage_row(const std::function<void(const UsageRow&)>& visit) {
  sqlite::Statement s(
      db_, "SELECT window_start_ms, key_id, reserved_tokens, used_tokens FROM window_usage");
  while (s.step()) visit({s.int64(0), s.text(1), s.int64(2), s.int64(3)});
}

std::pair<std::int64_t, std::int64_t> LedgerStore::window_charge(
    std::int64_t start, std::optional<std::string_view> key) {
  sqlite::Statement& s = key ? window_key_stmt_ : window_all_stmt_;
  s.reset().bind(1, start);
  if (key) s.bind(2, *key);
  std::pair<std::int64_t, std::int64_t> out{0, 0};
  if (s.step()) out = {s.int64(0), s.int64(1)};
  s.reset();
  return out;
}

void LedgerStore::fill_totals(LedgerTotals& out) {
  {
    sqlite::Statement s(db_, std::string("SELECT '', ") + kTotalsColumns + " FROM requests");
    accumulate(s, [&](std::string, Totals t) { out.overall = t; });
  }
  {
    sqlite::Statement s(
        db_, std::string("SELECT key_id, ") + kTotalsColumns + " FROM requests GROUP BY key_id");
    accumulate(s, [&](std::string k, Totals t) { out.by_key[std::move(k)] = t; });
  }
  sqlite::Statement s(
      db_, std::string("SELECT upstream, ") + kTotalsColumns + " FROM requests GROUP BY upstream");
  accumulate(s, [&](std::string u, Totals t) { out.by_upstream[std::move(u)] = t; });
}

std::vector<std::string> LedgerStore::window_keys(std::int64_t window_start_ms) {
  sqlite::Statement s(db_,
                      "SELECT key_id FROM key_budgets UNION SELECT key_id FROM window_usage "
                      "WHERE window_start_ms = ?");
  s.bind(1, window_start_ms);
  std::vector<std::string> keys;
  while (s.step()) keys.push_back(s.text(0));
  return keys;
}

}  // namespace clearhouse::ledger
