// The one-writer rule of a ledger file: while a LedgerWriterLock is held, no other process (and no
// second Ledger in this process) can open the same ledger for writing. Two writers would interleave
// their journal appends and empty each other's journal files. The lock is an flock on
// LEDGER-writes.lock, so the kernel releases it when the holder dies, also on SIGKILL.
//
// Private to the ledger. Thread-safety: none needed (taken at open, released at close).
#pragma once

#include <string>

namespace clearhouse::ledger {

class LedgerWriterLock {
 public:
  // Takes the lock for the ledger at ledger_path. Throws LedgerError naming the file when another
  // writer holds it, or the lock file cannot be opened.
  explicit LedgerWriterLock(const std::string& ledger_path);
  ~LedgerWriterLock();
  LedgerWriterLock(const LedgerWriterLock&) = delete;
  LedgerWriterLock& operator=(const LedgerWriterLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace clearhouse::ledger
