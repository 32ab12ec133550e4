#include "ledger/schema.h"

#include <iterator>
#include <string>

namespace clearhouse::ledger {

namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE budget (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  window_seconds INTEGER NOT NULL CHECK (window_seconds >= 0),
  global_tokens INTEGER CHECK (global_tokens IS NULL OR global_tokens >= 0));
INSERT INTO budget (id, window_seconds, global_tokens) VALUES (1, 0, NULL);
CREATE TABLE key_budgets (
  key_id TEXT PRIMARY KEY,
  tokens INTEGER NOT NULL CHECK (tokens >= 0));
CREATE TABLE requests (
  seq INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE,
  key_id TEXT NOT NULL,
  upstream TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'settled', 'released', 'reconciled')),
  reserved_tokens INTEGER NOT NULL CHECK (reserved_tokens >= 0),
  used_tokens INTEGER CHECK (used_tokens IS NULL OR used_tokens >= 0),
  payment_usd REAL,
  window_start_ms INTEGER NOT NULL,
  reserved_at_ms INTEGER NOT NULL,
  closed_at_ms INTEGER);
CREATE INDEX requests_open ON requests (state) WHERE state = 'open';
CREATE TABLE window_usage (
  window_start_ms INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  reserved_tokens INTEGER NOT NULL,
  used_tokens INTEGER NOT NULL,
  PRIMARY KEY (window_start_ms, key_id)) WITHOUT ROWID;
)sql";

// Version 2: the ledger journals writes (journal.h) and applies them in batches; the last
// journal record applied is stored with the data it changed.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE journal_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  applied_seq INTEGER NOT NULL CHECK (applied_seq >= 0));
INSERT INTO journal_state (id, applied_seq) VALUES (1, 0);
)sql";

// Version 3: reasoning tokens are recorded apart (they are part of used_tokens, never added to it).
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0
  CHECK (reasoning_tokens >= 0);
)sql";

// migrations[v] brings version v to v + 1. Version 0 is an empty file.
constexpr const char* kMigrations[] = {kSchemaV1, kSchemaV2, kSchemaV3};
static_assert(std::size(kMigrations) == kLedgerSchemaVersion);

bool has_table(sqlite::Connection& db, const char* name) {
  sqlite::Statement s(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.bind(1, std::string_view(name));
  return s.step();
}

int read_version(sqlite::Connection& db) {
  sqlite::Statement any(db, "SELECT count(*) FROM sqlite_master");
  any.step();
  const std::int64_t objects = any.int64(0);
  if (objects == 0) return 0;
  if (!has_table(db, "schema_version")) {
    throw LedgerError(db.path() +
                      ": not a clearhouse ledger (an SQLite file without a "
                      "schema_version table)");
  }
  sqlite::Statement v(db, "SELECT version FROM schema_version");
  if (!v.step()) throw LedgerError(db.path() + ": corrupt ledger: empty schema_version table");
  return static_cast<int>(v.int64(0));
}

void check_not_newer(const sqlite::Connection& db, int version) {
  if (version > kLedgerSchemaVersion) {
    throw LedgerError(db.path() + ": ledger schema version " + std::to_string(version) +
                      " is newer than this clearhouse supports (" +
                      std::to_string(kLedgerSchemaVersion) + "); upgrade clearhouse");
  }
  if (version < 0) throw LedgerError(db.path() + ": corrupt ledger: negative schema version");
}

}  // namespace

int open_schema(sqlite::Connection& db, bool read_only) {
  if (read_only) {
    const int version = read_version(db);
    if (version == 0) throw LedgerError(db.path() + ": not a clearhouse ledger (empty database)");
    check_not_newer(db, version);
    if (version < kLedgerSchemaVersion) {
      throw LedgerError(db.path() + ": ledger schema version " + std::to_string(version) +
                        " is older than this clearhouse's (" +
                        std::to_string(kLedgerSchemaVersion) +
                        "); open it once read-write (the gateway) to migrate it");
    }
    return version;
  }
  sqlite::Transaction tx(db);
  const int found = read_version(db);
  check_not_newer(db, found);
  for (int v = found; v < kLedgerSchemaVersion; ++v) db.exec(kMigrations[v]);
  if (found == 0) {
    db.exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(kLedgerSchemaVersion) +
            ")");
  } else if (found < kLedgerSchemaVersion) {
    db.exec("UPDATE schema_version SET version = " + std::to_string(kLedgerSchemaVersion));
  }
  tx.commit();
  return found;
}

}  // namespace clearhouse::ledger
