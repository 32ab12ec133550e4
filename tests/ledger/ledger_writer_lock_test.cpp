// The one-writer lock follows the ledger file, not its name (writer_lock.h): a second writer
// through a symlink or a hard link, in this process or in another one, is refused with LedgerError
// before it touches anything (no SQLite side files, no journal files, budgets and open requests
// intact), while readers keep working.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "ledger/error.h"
#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger {
namespace {

namespace fs = std::filesystem;
using testing::kT0;

// The ledger file and two more names for it.
struct Names {
  std::string path, symlink, hard_link;
};

Names make_names() {
  Names n;
  n.path = testing::ledger_path("ledger.db");
  const fs::path dir = fs::path(n.path).parent_path();
  n.symlink = (dir / "other-name.db").string();
  n.hard_link = (dir / "hard-link.db").string();
  return n;
}

void link_names(const Names& n) {
  fs::create_symlink(n.path, n.symlink);
  fs::create_hard_link(n.path, n.hard_link);
}

// What the first writer puts in the ledger, so a second one's damage would show.
void fill(Ledger& ledger) {
  ledger.configure_budget({.window_seconds = 3600, .global_tokens = 1000});
  ledger.set_key_budget("alice", 100);
  ASSERT_EQ(ledger.reserve("open-1", "alice", "u", 10).status, ReserveStatus::kReserved);
}

::testing::AssertionResult refused(const std::string& name, base::Clock& clock) {
  try {
    Ledger second = Ledger::open(name, clock);
    return ::testing::AssertionFailure() << "a second writer opened the ledger as " << name;
  } catch (const LedgerError& e) {
    if (std::string(e.what()).find("already open for writing") == std::string::npos) {
      return ::testing::AssertionFailure() << "wrong error: " << e.what();
    }
    return ::testing::AssertionSuccess();
  }
}

// Nothing a writer (SQLite or the journal) would create under `name` exists.
void expect_untouched(const std::string& name) {
  for (const char* suffix : {"-wal", "-shm", "-journal", "-writes-0", "-writes-1"}) {
    EXPECT_FALSE(fs::exists(name + suffix)) << name + suffix;
  }
}

void expect_first_writers_state(const Ledger& ledger) {
  EXPECT_EQ(ledger.key_budgets(), (std::map<std::string, std::int64_t>{{"alice", 100}}));
  EXPECT_EQ(ledger.budget().global_tokens, 1000);
}

TEST(LedgerWriterLock, ASecondWriterInThisProcessIsRefusedByAnyNameAndChangesNothing) {
  const Names n = make_names();
  base::ManualClock clock(kT0);
  {
    Ledger writer = Ledger::open(n.path, clock);
    fill(writer);
    link_names(n);
    EXPECT_TRUE(refused(n.symlink, clock));
    EXPECT_TRUE(refused(n.hard_link, clock));
    EXPECT_TRUE(refused(n.path, clock));
    expect_untouched(n.symlink);
    expect_untouched(n.hard_link);

    expect_first_writers_state(writer);
    ASSERT_EQ(writer.settle("open-1", 7, 0.0).status, CloseStatus::kClosed);  // still the writer
    ASSERT_TRUE(writer.find("open-1").has_value());  // applies the settle to SQLite
    const Ledger reader = Ledger::open(n.symlink, clock, {.read_only = true});
    expect_first_writers_state(reader);
    EXPECT_EQ(reader.find("open-1")->used_tokens, 7);
  }
  // The lock went with the writer: any name opens it now, and everything is there.
  Ledger reopened = Ledger::open(n.symlink, clock);
  expect_first_writers_state(reopened);
  EXPECT_EQ(reopened.find("open-1")->state, RequestState::kSettled);
}

// The child holds the ledger for writing until the parent writes a byte to `release`.
[[noreturn]] void hold_writer(const std::string& path, int ready, int release) {
  int code = 0;
  try {
    base::ManualClock clock(kT0);
    Ledger ledger = Ledger::open(path, clock);
    fill(ledger);
    if (::testing::Test::HasFailure()) ::_exit(2);
    char byte = 'r';
    if (::write(ready, &byte, 1) != 1) ::_exit(3);
    if (::read(release, &byte, 1) != 1) ::_exit(4);
  } catch (...) {
    code = 5;
  }
  ::_exit(code);
}

TEST(LedgerWriterLock, AWriterInAnotherProcessRefusesThisOneByAnyName) {
  const Names n = make_names();
  int ready[2], release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    ::close(release[1]);
    hold_writer(n.path, ready[1], release[0]);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child could not open the ledger";
  link_names(n);

  base::ManualClock clock(kT0);
  EXPECT_TRUE(refused(n.symlink, clock));
  EXPECT_TRUE(refused(n.hard_link, clock));
  expect_untouched(n.symlink);
  expect_untouched(n.hard_link);
  {
    const Ledger reader = Ledger::open(n.path, clock, {.read_only = true});
    expect_first_writers_state(reader);
  }

  ASSERT_EQ(::write(release[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ::close(ready[0]);
  ::close(release[1]);

  Ledger reopened = Ledger::open(n.hard_link, clock);  // free again, by any name
  expect_first_writers_state(reopened);
  EXPECT_EQ(reopened.find("open-1")->state, RequestState::kOpen);
}

}  // namespace
}  // namespace clearhouse::ledger
