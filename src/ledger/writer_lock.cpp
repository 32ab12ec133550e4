#include "ledger/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ledger/error.h"

namespace clearhouse::ledger {

LedgerWriterLock::LedgerWriterLock(const std::string& ledger_path) {
  const std::string lock_path = ledger_path + "-writes.lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw LedgerError(lock_path +
                      ": cannot open the ledger's writer lock: " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    ::close(fd_);
    fd_ = -1;
    if (saved == EWOULDBLOCK) {
      throw LedgerError(ledger_path +
                        ": the ledger is already open for writing (another gateway, or a "
                        "second Ledger in this process); one writer per ledger file");
    }
    throw LedgerError(lock_path + ": cannot lock the ledger: " + std::strerror(saved));
  }
}

LedgerWriterLock::~LedgerWriterLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace clearhouse::ledger
