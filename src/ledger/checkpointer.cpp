#include "ledger/checkpointer.h"

#include <sqlite3.h>

namespace clearhouse::ledger {

namespace {

int wal_hook(void* self, sqlite3*, const char*, int pages) {
  static_cast<Checkpointer*>(self)->on_commit(pages);
  return SQLITE_OK;
}

}  // namespace

Checkpointer::Checkpointer(const std::string& path, sqlite::Connection& writer)
    : writer_(writer), own_(path, false) {
  writer_.exec("PRAGMA wal_autocheckpoint = 0");
  // A connection opens the WAL only when it first reads the database; until then
  // sqlite3_wal_checkpoint_v2 on it is a silent no-op (SQLITE_OK, nothing copied), and the WAL
  // grows without bound. One read here opens it for good.
  own_.exec("SELECT count(*) FROM sqlite_master");
  sqlite3_wal_hook(writer_.handle(), &wal_hook, this);
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Checkpointer::on_commit(int wal_pages) {
  if (wal_pages < kCheckpointPages) return;
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_one();
}

void Checkpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    // PASSIVE: copies what it can without waiting for or blocking the writer. A failure (e.g. the
    // disk is full) leaves the data safe in the WAL; the next request retries.
    sqlite3_wal_checkpoint_v2(own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace clearhouse::ledger
