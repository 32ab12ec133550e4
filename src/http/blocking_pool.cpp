#include "http/blocking_pool.h"

#include <algorithm>
#include <future>

namespace clearhouse::http {

bool wait_on_loop(const LoopExecutor& loop, Task<bool> task) {
  std::promise<bool> done;
  auto result = done.get_future();
  boost::asio::co_spawn(loop, std::move(task),
                        [&done](std::exception_ptr e, bool ok) { done.set_value(!e && ok); });
  return result.get();
}

BlockingPool::BlockingPool(std::size_t max_threads)
    : max_threads_(std::max<std::size_t>(1, max_threads)) {}

BlockingPool::~BlockingPool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    threads.swap(threads_);
  }
  cond_.notify_all();
  for (auto& t : threads) t.join();
}

void BlockingPool::enqueue(std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mutex_);
  jobs_.push_back(std::move(job));
  if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { work(); });
  } else {
    cond_.notify_one();
  }
}

void BlockingPool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ++idle_;
      cond_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) return;  // shut down with nothing left to do
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace clearhouse::http
