#include "gateway/ledger_group_commit.h"

#include <algorithm>

namespace clearhouse::gateway {

void GroupCommit::submit(const std::function<void()>& apply) {
  Write me;
  me.apply = &apply;
  std::unique_lock lock(mu_);
  queue_.push_back(&me);
  me.wake.wait(lock, [&] { return me.done || !leading_; });
  if (!me.done) {
    leading_ = true;
    std::vector<Write*> batch;
    batch.swap(queue_);
    lock.unlock();
    try {
      runner_(batch);
    } catch (...) {  // the runner's contract is not to throw; if it does, no caller may hang
      for (Write* w : batch) {
        if (!w->error) w->error = std::current_exception();
      }
    }
    lock.lock();
    ++stats_.batches;
    stats_.writes += batch.size();
    stats_.largest_batch = std::max(stats_.largest_batch, batch.size());
    // Notified under the lock: a woken writer may return and destroy its Write (and its condition
    // variable) as soon as it can see done, which needs the lock.
    for (Write* w : batch) {
      w->done = true;
      if (w != &me) w->wake.notify_one();
    }
    leading_ = false;
    if (!queue_.empty()) queue_.front()->wake.notify_one();  // the next batch's leader
  }
  lock.unlock();
  if (me.error) std::rethrow_exception(me.error);
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t GroupCommit::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace clearhouse::gateway
