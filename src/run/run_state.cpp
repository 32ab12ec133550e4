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

constexpr const char* kSchema = R"(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queries (
  idx INTEGER PRIMARY KEY, status TEXT NOT NULL, generated INTEGER NOT NULL, text TEXT NOT NULL,
  rounds INTEGER NOT NULL, charged INTEGER NOT NULL, cap INTEGER NOT NULL,
  requests INTEGER NOT NULL, reserved INTEGER NOT NULL, last_body TEXT NOT NULL,
  error TEXT NOT NULL);
)";

}  // namespace

struct RunState::Db {
  sql::Connection connection;
  sql::Statement upsert;
  explicit Db(const std::string& path)
      : connection(path, false),
        upsert((connection.exec(kSchema), connection),
               "INSERT OR REPLACE INTO queries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
               "?11)") {}
};

RunState::RunState(const std::string& path, const std::string& fingerprint, std::int64_t budget,
                   std::size_t queries)
    : queries_(queries), reserved_(queries, 0) {
  try {
    db_ = std::make_unique<Db>(path);
    sql::Statement get(db_->connection, "SELECT value FROM meta WHERE key = ?1");
    std::string stored;
    if (get.reset().bind(1, std::string_view("fingerprint")).step()) stored = get.text(0);
    get.reset();
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
                        "SELECT idx, status, generated, text, rounds, charged, cap, requests, "
                        "reserved, last_body, error FROM queries");
    rows.reset();
    std::vector<std::size_t> open_reservations;
    while (rows.step()) {
      const auto idx = static_cast<std::size_t>(rows.int64(0));
      if (idx >= queries_.size()) continue;
      QueryState& q = queries_[idx];
      q.status = parse_status(rows.text(1));
      q.generated = rows.int64(2);
      q.text = rows.text(3);
      q.rounds = static_cast<int>(rows.int64(4));
      q.charged = rows.int64(5) + rows.int64(8);  // a lost request's reservation is charged
      q.cap = rows.int64(6);
      q.requests = rows.int64(7);
      q.last_body = rows.text(9);
      q.error = rows.text(10);
      if (rows.int64(8) != 0) open_reservations.push_back(idx);
    }
    rows.reset();
    for (std::size_t idx : open_reservations) save(idx);
  } catch (const ledger::LedgerError& e) {
    throw RunStateError(e.what());
  }
}

RunState::~RunState() = default;

std::int64_t RunState::charged() const {
  std::int64_t total = 0;
  for (const QueryState& q : queries_) total += q.charged;
  return total;
}

void RunState::save(std::size_t i) {
  const QueryState& q = queries_[i];
  try {
    db_->upsert.reset()
        .bind(1, static_cast<std::int64_t>(i))
        .bind(2, to_string(q.status))
        .bind(3, q.generated)
        .bind(4, std::string_view(q.text))
        .bind(5, static_cast<std::int64_t>(q.rounds))
        .bind(6, q.charged)
        .bind(7, q.cap)
        .bind(8, q.requests)
        .bind(9, reserved_[i])
        .bind(10, std::string_view(q.last_body))
        .bind(11, std::string_view(q.error));
    db_->upsert.run();
    db_->upsert.reset();
  } catch (const ledger::LedgerError& e) {
    throw RunStateError(e.what());
  }
}

void RunState::reserve(std::size_t query, std::int64_t cap) {
  assert(reserved_[query] == 0 && cap > 0);
  reserved_[query] = cap;
  ++queries_[query].requests;
  save(query);
}

void RunState::settle_answer(std::size_t query, std::int64_t cap, std::int64_t tokens,
                             const std::string& text_added, const std::string& body,
                             QueryStatus status) {
  QueryState& q = queries_[query];
  reserved_[query] = 0;
  q.generated += tokens;
  q.text += text_added;
  q.charged += tokens;
  q.cap += cap;
  ++q.rounds;
  q.last_body = body;
  q.status = status;
  save(query);
}

void RunState::settle_failure(std::size_t query, std::int64_t charge) {
  reserved_[query] = 0;
  queries_[query].charged += charge;
  save(query);
}

void RunState::set_status(std::size_t query, QueryStatus status, const std::string& error) {
  queries_[query].status = status;
  queries_[query].error = error;
  save(query);
}

}  // namespace clearhouse::run
