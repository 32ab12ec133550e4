// A thin RAII layer over the SQLite C API, used by the ledger and by run/run_state.cpp: a
// connection, prepared statements with typed binds and columns, and a transaction guard. Every
// SQLite failure becomes a LedgerError carrying the database path and SQLite's message; nothing
// here retries or sleeps except SQLite's own busy timeout.
//
// Thread-safety: none. A Connection and its statements belong to one thread at a time; the Ledger
// serialises access with its mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace clearhouse::ledger::sqlite {

class Connection {
 public:
  // Opens path. read_only: never creates or writes the file. Throws LedgerError naming the path.
  Connection(const std::string& path, bool read_only);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results. Throws LedgerError.
  void exec(std::string_view sql);

  [[nodiscard]] sqlite3* handle() const { return db_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::int64_t changes() const;

  // Throws LedgerError("<path>: <what>: <sqlite message>") for result code rc.
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement, reset (bindings cleared) before each use by the caller via reset().
class Statement {
 public:
  Statement(Connection& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& reset();
  // Parameters are 1-based, as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind_null(int index);

  // Steps once: true when a row is available, false when done. Throws LedgerError on failure.
  bool step();
  // Steps to completion, expecting no rows.
  void run();

  // Columns are 0-based.
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::optional<std::int64_t> optional_int64(int column) const;

 private:
  Connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE (takes the write lock at once, so a read-check-write sequence inside cannot be
// interleaved with another writer) ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& db_;
  bool done_ = false;
};

}  // namespace clearhouse::ledger::sqlite
