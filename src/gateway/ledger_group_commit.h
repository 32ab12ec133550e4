// Group commit for the ledger's writes: many threads' reserve/settle/release calls share one SQLite
// write transaction, so a commit (and its WAL frames: whole 4 KiB pages) is paid once per batch
// instead of once per call. No call returns before the transaction holding its write has committed,
// so what a caller was told is as durable as with one transaction per call.
//
// How batches form (leader/follower, no thread of its own): a caller queues its write; if no batch is
// running, it becomes the leader, takes every queued write (its own included), and runs them through
// the BatchRunner; the others wait. Writes that arrive while a batch runs queue up and form the next
// batch, whose leader is the first of them. An idle ledger therefore commits each write at once
// (a batch of one, no hand-off between threads), and a busy one commits in batches as large as the
// load makes them, without waiting on a timer.
//
// The BatchRunner runs a batch's writes in order, inside one transaction, and records each write's
// failure in its Write::error; it must not throw. Thread-safety: submit() may be called from any
// number of threads; the runner is called by one thread at a time.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace clearhouse::gateway {

class GroupCommit {
 public:
  struct Write {
    const std::function<void()>* apply = nullptr;  // runs the write's statements (may throw)
    std::exception_ptr error;                       // set by the runner when apply or the commit failed
    bool done = false;
    std::condition_variable wake;
  };
  using BatchRunner = std::function<void(std::span<Write* const> batch)>;

  explicit GroupCommit(BatchRunner runner) : runner_(std::move(runner)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs apply as part of a batch and returns once that batch committed. Rethrows apply's exception,
  // or the commit's error, in the caller's thread.
  void submit(const std::function<void()>& apply);

  // Batches run and writes committed so far (for benchmarks and tests).
  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t writes = 0;
    std::size_t largest_batch = 0;
  };
  [[nodiscard]] Stats stats() const;
  // Writes queued for the next batch (not yet taken by a leader).
  [[nodiscard]] std::size_t queued() const;

 private:
  BatchRunner runner_;
  mutable std::mutex mu_;
  std::vector<Write*> queue_;  // guarded by mu_
  bool leading_ = false;       // a batch is running; guarded by mu_
  Stats stats_;                // guarded by mu_
};

}  // namespace clearhouse::gateway
