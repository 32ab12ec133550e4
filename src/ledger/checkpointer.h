// Moves WAL checkpoints off the ledger's write path. With synchronous=NORMAL a WAL commit costs no
// fsync, but a checkpoint (copying the WAL back into the database file) fsyncs both files, and
// SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, under the
// ledger's lock. The Checkpointer turns automatic checkpoints off on the writing connection,
// watches the WAL's size through sqlite3_wal_hook, and runs PASSIVE checkpoints (which never block
// the writer and never write a transaction: there is still exactly one writer of ledger data) on
// its own thread and connection once the WAL holds kCheckpointPages pages.
//
// Private to ledger.cpp. Thread-safety: construct and destroy on the owner's thread; the WAL hook
// runs on the writer's thread, under the ledger's lock.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ledger/sqlite.h"

namespace clearhouse::ledger {

// WAL pages (4 KiB each by default) that trigger a background checkpoint.
inline constexpr int kCheckpointPages = 2000;

class Checkpointer {
 public:
  // writer must outlive the Checkpointer. Opens a second connection to path.
  Checkpointer(const std::string& path, sqlite::Connection& writer);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Called by the WAL hook after each commit.
  void on_commit(int wal_pages);

 private:
  void run();

  sqlite::Connection& writer_;
  sqlite::Connection own_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace clearhouse::ledger
