// Crash test: a child process reserves and settles in a loop and reports each committed operation
// through a pipe; the parent SIGKILLs it at an arbitrary point, reopens the ledger and checks that
// everything reported is there, the aggregates agree with the rows, and reconcile closes what the
// crash left open. Three rounds on the same file, each after the previous one's reconcile.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "ledger/ledger.h"
#include "ledger/ledger_test_util.h"

namespace clearhouse::ledger::testing {
namespace {

constexpr std::int64_t kCap = 100;
constexpr int kOutstanding = 3;  // the child keeps this many reservations open at a time

void write_line(int fd, const std::string& line) {
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n <= 0) ::_exit(3);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Runs in the child: never returns.
[[noreturn]] void child_loop(const std::string& path, int round, int fd) {
  try {
    base::ManualClock clock(kT0);
    Ledger ledger = Ledger::open(path, clock);
    for (int i = 0; i < 1'000'000; ++i) {
      const std::string id = "c" + std::to_string(round) + "-" + std::to_string(i);
      if (ledger.reserve(id, "k", "u", kCap).status != ReserveStatus::kReserved) ::_exit(4);
      write_line(fd, "R " + id + "\n");
      if (i >= kOutstanding) {
        const std::string old =
            "c" + std::to_string(round) + "-" + std::to_string(i - kOutstanding);
        const std::int64_t used = 1 + i % 97;
        if (ledger.settle(old, used, 0.0).status != CloseStatus::kClosed) ::_exit(5);
        write_line(fd, "S " + old + " " + std::to_string(used) + "\n");
      }
    }
  } catch (...) {
    ::_exit(6);
  }
  ::_exit(0);
}

struct Reported {
  std::set<std::string> reserved;
  std::map<std::string, std::int64_t> settled;
};

// Forks the child, reads its reports until `settles` settlements were reported, kills it, and
// returns everything it reported (including what was still in the pipe).
Reported run_and_kill(const std::string& path, int round, int settles) {
  int fds[2];
  if (::pipe(fds) != 0) ADD_FAILURE() << "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    child_loop(path, round, fds[1]);
  }
  ::close(fds[1]);
  Reported out;
  std::string buffer;
  bool killed = false;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) break;  // EOF: the child is gone (killed, or it failed)
    buffer.append(chunk, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::istringstream line(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
      std::string kind, id;
      line >> kind >> id;
      if (kind == "R") out.reserved.insert(id);
      if (kind == "S") line >> out.settled[id];
    }
    if (!killed && static_cast<int>(out.settled.size()) >= settles) {
      ::kill(pid, SIGKILL);  // wherever it is: mid-transaction, mid-write, between calls
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child exited early with status " << status;
  return out;
}

TEST(LedgerCrash, SigkillLosesNothingCommittedAndReconcileClosesTheRest) {
  const std::string path = ledger_path();
  base::ManualClock clock(kT0);
  std::int64_t spent_before_round = 0;
  std::int64_t requests_before_round = 0;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const Reported reported = run_and_kill(path, round, 150 + 70 * round);
    ASSERT_GE(reported.settled.size(), 150u);

    Ledger ledger = Ledger::open(path, clock);
    // Nothing the child reported as committed is lost.
    for (const auto& id : reported.reserved) ASSERT_TRUE(ledger.find(id).has_value()) << id;
    std::int64_t reported_used = 0;
    for (const auto& [id, used] : reported.settled) {
      const auto r = ledger.find(id);
      ASSERT_TRUE(r.has_value()) << id;
      ASSERT_EQ(r->state, RequestState::kSettled) << id;
      ASSERT_EQ(r->used_tokens, used) << id;
      reported_used += used;
    }
    // The aggregates agree with the rows, and only the child's last few requests can be open.
    const LedgerTotals t = ledger.totals();
    const Totals summed = sum_of_records(ledger);
    EXPECT_EQ(t.overall.spent_tokens, summed.spent_tokens);
    EXPECT_EQ(t.overall.reserved_tokens, summed.reserved_tokens);
    EXPECT_EQ(t.window.spent_tokens + t.window.reserved_tokens,
              summed.spent_tokens + summed.reserved_tokens);
    EXPECT_LE(t.overall.open_requests, kOutstanding + 1);
    EXPECT_EQ(t.overall.reserved_tokens, t.overall.open_requests * kCap);
    // At most one reserve and one settle committed after the last report the parent read.
    const auto round_requests = t.overall.requests - requests_before_round;
    EXPECT_GE(round_requests, static_cast<std::int64_t>(reported.reserved.size()));
    EXPECT_LE(round_requests, static_cast<std::int64_t>(reported.reserved.size()) + 1);
    EXPECT_GE(t.overall.spent_tokens - spent_before_round, reported_used);
    EXPECT_LE(t.overall.spent_tokens - spent_before_round, reported_used + 97);

    const ReconcileReport report = ledger.reconcile_after_restart();
    EXPECT_EQ(static_cast<std::int64_t>(report.requests.size()), t.overall.open_requests);
    EXPECT_EQ(report.counted_tokens, t.overall.reserved_tokens);
    const LedgerTotals after = ledger.totals();
    EXPECT_EQ(after.overall.reserved_tokens, 0);
    EXPECT_EQ(after.overall.open_requests, 0);
    EXPECT_EQ(after.overall.spent_tokens, t.overall.spent_tokens + report.counted_tokens);
    spent_before_round = after.overall.spent_tokens;
    requests_before_round = after.overall.requests;
  }
}

}  // namespace
}  // namespace clearhouse::ledger::testing
