// The one-writer rule of a ledger file: while a LedgerWriterLock is held, no other process (and no
// second Ledger in this process) can open the same ledger for writing, by any name. Two writers
// would interleave their journal appends and empty each other's journal files, and each would
// decide on budgets the other never sees.
//
// What is locked is the file, not its name: the lock is an flock(LOCK_EX) on a descriptor of the
// ledger's database file itself. A symlink, a hard link, a bind mount or `..` in the path all reach
// the same inode, so they all meet the same lock; the kernel releases it when the holder dies, also
// on SIGKILL. (The lock used to be on a file named after the path, LEDGER-writes.lock: any second
// name for the ledger gave a second writer.)
//
// Why flock on the database file, and not fcntl: SQLite itself takes POSIX fcntl byte-range locks
// on the database file (around byte 2^30). fcntl locks belong to a process, so a second Ledger in
// this process would not be refused, and a whole-file fcntl lock would block other processes'
// SQLite readers. flock locks belong to an open file description and, on Linux's local file
// systems, never interact with fcntl locks: the writer lock and SQLite's locks ignore each other,
// and a second open() in the same process is refused like another process. (On NFS, Linux emulates
// flock with fcntl locks; SQLite's WAL mode does not work on network file systems anyway.)
//
// The POSIX catch: closing any descriptor of a file drops every fcntl lock the process holds on
// it, SQLite's included (SQLite's WAL mode relies on a shared lock held on the database file for
// as long as a connection is open). So:
//   * the lock's descriptor is opened before SQLite opens the file and closed only after the
//     Ledger's own SQLite connections are closed (ledger.cpp orders its members for this);
//   * a second writer in this process is refused from a registry of the files this process holds
//     (device and inode, from stat()), before any descriptor of the file is opened, so refusing it
//     cannot drop the first writer's SQLite locks;
//   * a descriptor is closed while other SQLite connections of this process may be open on the
//     file only when a writer is refused because another process holds the lock, or when the
//     writing Ledger closes. A process that needs the ledger's locks intact then (readers of its
//     own while it closes its writer) must not do that; the gateway opens one Ledger per process.
//
// The lock is taken before anything else of the ledger is touched (SQLite, the journal files), so
// a refused writer changes nothing. The journal files are still named after the path given
// (LEDGER-writes-0/-1): after a crash, reopen the ledger through the same name so its journal is
// applied.
//
// Private to the ledger. Thread-safety: none needed (taken at open, released at close).
#pragma once

#include <sys/types.h>

#include <string>

namespace clearhouse::ledger {

class LedgerWriterLock {
 public:
  // Opens (creating it empty if it does not exist: SQLite takes an empty file as a new database)
  // the ledger's database file and locks it. Throws LedgerError naming the file when another writer
  // holds the lock, or the file cannot be opened or locked.
  explicit LedgerWriterLock(const std::string& ledger_path);
  ~LedgerWriterLock();
  LedgerWriterLock(const LedgerWriterLock&) = delete;
  LedgerWriterLock& operator=(const LedgerWriterLock&) = delete;

 private:
  struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
  };
  int fd_ = -1;
  FileId file_;  // the locked file's identity, in this process's registry while held
};

}  // namespace clearhouse::ledger
