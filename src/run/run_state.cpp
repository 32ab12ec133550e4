#include "run/run_state.h"

#include <cassert>

#include "ledger/error.h"
#include "ledger/sqlite.h"

namespace clearhouse::run {

namespace sql = ledger::sqlite;

std::string_view to_string(QueryStatus status) {
  switch (status) {
    case QueryStatus::kPending: return "pending";
    case QueryStatus::kFinished: return "finished";
    case QueryStatus::kClosed: return "closed";
    case QueryStatus::kFailed: return "failed";
  }
  return "pending";
}

namespace {

QueryStatus parse_status(const std::string& text) {
  for (QueryStatus s : {QueryStatus::kPending, QueryStatus::kFinished, QueryStatus::kClosed,
                        QueryStatus::kFailed}) {
    if (to_string(s) == text) return s;
  }
  return QueryStatus::kPending;
}

// A 32 MiB page cache and checkpoints every 8,192 pages (32 MiB of WAL) rather than 1,000: rows
// are rewritten often (every request's reservation), and a page rewritten between two checkpoints
// is copied to the database once.
// Two tables, so a reservation (the write before every request) rewrites a small row and not the
// text and body, which change only when an answer is settled. Names differ from the first layout's
// single `queries` table; such a file has another fingerprint and is refused before any use.
constexpr const char* kSchema = R"(
PRAGMA busy_timeout = 0;
PRAGMA locking_mode = EXCLUSIVE;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA cache_size = -32768;
PRAGMA wal_autocheckpoint = 8192;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS query_state (
  idx INTEGER PRIMARY KEY, status TEXT NOT NULL, generated INTEGER NOT NULL,
  rounds INTEGER NOT NULL, charged INTEGER NOT NULL, cap INTEGER NOT NULL,
  requests INTEGER NOT NULL, reserved INTEGER NOT NULL, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS query_text (
  idx INTEGER PRIMARY KEY, text TEXT NOT NULL, last_body TEXT NOT NULL);
)";

constexpr std::uint8_t kRowDirty = 1;
constexpr std::uint8_t kTextDirty = 2;

}  // namespace

struct RunState::Db {
  sql::Connection connection;
  sql::Statement put_state;
  sql::Statement put_text;
  explicit Db(const std::string& path)
      : connection(path, false),
        put_state((connection.exec(kSchema), connection),
                  "INSERT OR REPLACE INTO query_state VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        put_text(connection, "INSERT OR REPLACE INTO query_text VALUES (?1, ?2, ?3)") {}
};

namespace {

// The stored fingerprint ("" for a new file). Read before the tables are used, so a file of
// another layout or input is refused with this message rather than a schema error.
std::string stored_fingerprint(sql::Connection& connection) {
  sql::Statement get(connection, "SELECT value FROM meta WHERE key = ?1");
  std::string stored;
  if (get.reset().bind(1, std::string_view("fingerprint")).step()) stored = get.text(0);
  get.reset();
  return stored;
}

}  // namespace

RunState::RunState(const std::string& path, const std::string& fingerprint, std::int64_t budget,
                   std::size_t queries)
    : queries_(queries), reserved_(queries, 0), dirty_(queries, 0) {
  try {
    db_ = std::make_unique<Db>(path);
    const std::string stored = stored_fingerprint(db_->connection);
    if (!stored.empty() && stored != fingerprint) {
      throw RunStateError(path +
                          ": this state was written for another input or other options (its "
                          "fingerprint " +
                          stored + " is not " + fingerprint +
                          "); give another --state, or delete it to start over");
    }
    resumed_ = !stored.empty();
    sql::Transaction tx(db_->connection);
    sql::Statement put(db_->connection, "INSERT OR REPLACE INTO meta VALUES (?1, ?2)");
    put.reset()
        .bind(1, std::string_view("fingerprint"))
        .bind(2, std::string_view(fingerprint))
        .run();
    put.reset().bind(1, std::string_view("budget")).bind(2, std::to_string(budget)).run();
    tx.commit();
    sql::Statement rows(db_->connection,
                        "SELECT idx, status, generated, rounds, charged, cap, requests, reserved, "
                        "error FROM query_state");
    rows.reset();
    while (rows.step()) {
      const auto idx = static_cast<std::size_t>(rows.int64(0));
      if (idx >= queries_.size()) continue;
      QueryState& q = queries_[idx];
      q.status = parse_status(rows.text(1));
      q.generated = rows.int64(2);
      q.rounds = static_cast<int>(rows.int64(3));
      q.charged = rows.int64(4) + rows.int64(7);  // a lost request's reservation is charged
      q.cap = rows.int64(5);
      q.requests = rows.int64(6);
      q.error = rows.text(8);
      charged_ += q.charged;
      if (rows.int64(7) != 0) mark(idx, false);
    }
    rows.reset();
    sql::Statement texts(db_->connection, "SELECT idx, text, last_body FROM query_text");
    texts.reset();
    while (texts.step()) {
      const auto idx = static_cast<std::size_t>(texts.int64(0));
      if (idx >= queries_.size()) continue;
      queries_[idx].text = texts.text(1);
      queries_[idx].last_body = texts.text(2);
    }
    texts.reset();
    commit();  // the lost reservations, charged
  } catch (const ledger::LedgerError& e) {
    if (std::string_view(e.what()).find("database is locked") != std::string_view::npos) {
      throw RunStateError(path + ": in use by another process (another clearhouse run of the " +
                          "same state?); it is locked until that process ends");
    }
    throw RunStateError(e.what());
  }
}

RunState::~RunState() = default;

void RunState::mark(std::size_t query, bool text) {
  if (dirty_[query] == 0) dirty_list_.push_back(query);
  dirty_[query] |= kRowDirty | (text ? kTextDirty : 0);
}

void RunState::write(std::size_t i) {
  const QueryState& q = queries_[i];
  db_->put_state.reset()
      .bind(1, static_cast<std::int64_t>(i))
      .bind(2, to_string(q.status))
      .bind(3, q.generated)
      .bind(4, static_cast<std::int64_t>(q.rounds))
      .bind(5, q.charged)
      .bind(6, q.cap)
      .bind(7, q.requests)
      .bind(8, reserved_[i])
      .bind(9, std::string_view(q.error));
  db_->put_state.run();
  db_->put_state.reset();
  if ((dirty_[i] & kTextDirty) != 0) {
    db_->put_text.reset()
        .bind(1, static_cast<std::int64_t>(i))
        .bind(2, std::string_view(q.text))
        .bind(3, std::string_view(q.last_body));
    db_->put_text.run();
    db_->put_text.reset();
  }
}

void RunState::commit() {
  if (dirty_list_.empty()) return;
  try {
    sql::Transaction tx(db_->connection);
    for (const std::size_t i : dirty_list_) write(i);
    tx.commit();
  } catch (const ledger::LedgerError& e) {
    throw RunStateError(e.what());
  }
  for (const std::size_t i : dirty_list_) dirty_[i] = 0;
  dirty_list_.clear();
}

void RunState::forget_text(std::size_t query) {
  assert(dirty_[query] == 0 && "commit before forgetting a text");
  std::string().swap(queries_[query].text);
  std::string().swap(queries_[query].last_body);
}

void RunState::reserve(std::size_t query, std::int64_t cap) {
  assert(reserved_[query] == 0 && cap > 0);
  reserved_[query] = cap;
  ++queries_[query].requests;
  mark(query, false);
}

void RunState::settle_answer(std::size_t query, std::int64_t cap, std::int64_t tokens,
                             const std::string& text_added, const std::string& body,
                             QueryStatus status) {
  QueryState& q = queries_[query];
  reserved_[query] = 0;
  q.generated += tokens;
  q.text += text_added;
  q.charged += tokens;
  charged_ += tokens;
  q.cap += cap;
  ++q.rounds;
  q.last_body = body;
  q.status = status;
  mark(query, true);
}

void RunState::settle_failure(std::size_t query, std::int64_t charge) {
  reserved_[query] = 0;
  queries_[query].charged += charge;
  charged_ += charge;
  mark(query, false);
}

void RunState::set_status(std::size_t query, QueryStatus status, const std::string& error) {
  queries_[query].status = status;
  queries_[query].error = error;
  mark(query, false);
}

}  // namespace clearhouse::run
