// GroupCommit: every write runs once, inside a batch that finished before its caller returns; writes
// that queue while a batch runs form the next batch; failures reach exactly the callers they concern.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/ledger_group_commit.h"

namespace clearhouse::gateway {
namespace {

// A runner that applies each write and then marks the batch committed, recording batch sizes.
struct RecordingRunner {
  std::mutex mu;
  std::vector<std::size_t> batch_sizes;
  int committed_batches = 0;

  void operator()(std::span<GroupCommit::Write* const> batch) {
    for (GroupCommit::Write* w : batch) {
      try {
        (*w->apply)();
      } catch (...) {
        w->error = std::current_exception();
      }
    }
    std::lock_guard lock(mu);
    batch_sizes.push_back(batch.size());
    ++committed_batches;
  }
};

TEST(GroupCommit, AnIdleCallerRunsItsWriteAloneAndAtOnce) {
  RecordingRunner runner;
  GroupCommit commits([&](auto batch) { runner(batch); });
  int applied = 0;
  commits.submit([&] { ++applied; });
  commits.submit([&] { ++applied; });
  EXPECT_EQ(applied, 2);
  EXPECT_EQ(runner.batch_sizes, (std::vector<std::size_t>{1, 1}));
  const GroupCommit::Stats stats = commits.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.writes, 2u);
  EXPECT_EQ(stats.largest_batch, 1u);
}

TEST(GroupCommit, WritesQueuedDuringABatchFormTheNextBatch) {
  // The first batch blocks until the other writers have queued; they must then run as one batch.
  constexpr int kWaiting = 6;
  std::mutex mu;
  std::condition_variable cv;
  bool release_first = false;
  std::vector<std::size_t> sizes;
  GroupCommit* self = nullptr;
  GroupCommit commits([&](std::span<GroupCommit::Write* const> batch) {
    {
      std::unique_lock lock(mu);
      const bool first = sizes.empty();
      sizes.push_back(batch.size());
      if (first) cv.wait(lock, [&] { return release_first; });
    }
    for (GroupCommit::Write* w : batch) (*w->apply)();
  });
  self = &commits;
  std::atomic<int> applied{0};
  std::thread first([&] { commits.submit([&] { ++applied; }); });
  // Wait (by polling the queue, not by sleeping a fixed time) until the first batch is running.
  while (true) {
    std::lock_guard lock(mu);
    if (!sizes.empty()) break;
  }
  std::vector<std::thread> others;
  for (int i = 0; i < kWaiting; ++i) others.emplace_back([&] { commits.submit([&] { ++applied; }); });
  while (self->queued() < kWaiting) std::this_thread::yield();
  {
    std::lock_guard lock(mu);
    release_first = true;
  }
  cv.notify_all();
  first.join();
  for (std::thread& t : others) t.join();
  EXPECT_EQ(applied.load(), 1 + kWaiting);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, kWaiting}));
  EXPECT_EQ(commits.stats().largest_batch, static_cast<std::size_t>(kWaiting));
}

TEST(GroupCommit, EveryCallerReturnsOnlyAfterItsBatchCommitted) {
  constexpr int kThreads = 16;
  constexpr int kWritesEach = 300;
  std::mutex mu;
  std::set<int> committed;  // write ids whose batch finished
  std::set<int> applied_in_open_batch;
  GroupCommit commits([&](std::span<GroupCommit::Write* const> batch) {
    for (GroupCommit::Write* w : batch) (*w->apply)();
    std::lock_guard lock(mu);
    committed.insert(applied_in_open_batch.begin(), applied_in_open_batch.end());
    applied_in_open_batch.clear();
  });
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWritesEach; ++i) {
        const int id = t * kWritesEach + i;
        commits.submit([&] { applied_in_open_batch.insert(id); });  // runs under the runner, one at a time
        std::lock_guard lock(mu);
        if (committed.count(id) != 1) ++violations;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(committed.size(), static_cast<std::size_t>(kThreads * kWritesEach));
  const GroupCommit::Stats stats = commits.stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(kThreads * kWritesEach));
  EXPECT_LE(stats.batches, stats.writes);
}

TEST(GroupCommit, AWriteThatFailsFailsOnlyItsOwnCaller) {
  RecordingRunner runner;
  GroupCommit commits([&](auto batch) { runner(batch); });
  EXPECT_THROW(commits.submit([] { throw std::runtime_error("disk full"); }), std::runtime_error);
  int applied = 0;
  EXPECT_NO_THROW(commits.submit([&] { ++applied; }));
  EXPECT_EQ(applied, 1);
}

TEST(GroupCommit, ARunnerThatThrowsFailsItsBatchWithoutHangingLaterWriters) {
  bool fail = true;
  GroupCommit commits([&](std::span<GroupCommit::Write* const> batch) {
    if (fail) throw std::runtime_error("commit failed");
    for (GroupCommit::Write* w : batch) (*w->apply)();
  });
  EXPECT_THROW(commits.submit([] {}), std::runtime_error);
  fail = false;
  int applied = 0;
  commits.submit([&] { ++applied; });
  EXPECT_EQ(applied, 1);
}

}  // namespace
}  // namespace clearhouse::gateway
