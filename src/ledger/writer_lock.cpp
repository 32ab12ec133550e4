#include "ledger/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "ledger/error.h"

namespace clearhouse::ledger {
namespace {

using FileId = std::pair<dev_t, ino_t>;

// The files this process holds the writer lock of (see the header: refusing an in-process second
// writer must not open, and so close, a descriptor of the file). Guarded by held_mutex(), which is
// also held for the whole of taking a lock, so two threads racing for one file are ordered.
std::mutex& held_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::set<FileId>& held_files() {
  static std::set<FileId> files;
  return files;
}

[[noreturn]] void throw_already_open(const std::string& ledger_path) {
  throw LedgerError(ledger_path +
                    ": the ledger is already open for writing (another gateway, or a second "
                    "Ledger in this process, maybe through another name of the same file); one "
                    "writer per ledger file");
}

}  // namespace

LedgerWriterLock::LedgerWriterLock(const std::string& ledger_path) {
  const std::lock_guard lock(held_mutex());
  struct stat st {};
  if (::stat(ledger_path.c_str(), &st) == 0 && held_files().contains({st.st_dev, st.st_ino})) {
    throw_already_open(ledger_path);
  }
  // O_RDWR: a writer needs write access anyway, and failing here names the problem before SQLite.
  fd_ = ::open(ledger_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw LedgerError(ledger_path +
                      ": cannot open the ledger for writing: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd_, &st) != 0) {
    const int saved = errno;
    ::close(fd_);
    fd_ = -1;
    if (saved == EWOULDBLOCK) throw_already_open(ledger_path);
    throw LedgerError(ledger_path + ": cannot lock the ledger: " + std::strerror(saved));
  }
  file_ = {st.st_dev, st.st_ino};
  held_files().insert({st.st_dev, st.st_ino});
}

LedgerWriterLock::~LedgerWriterLock() {
  const std::lock_guard lock(held_mutex());
  ::close(fd_);
  held_files().erase({file_.device, file_.inode});
}

}  // namespace clearhouse::ledger
