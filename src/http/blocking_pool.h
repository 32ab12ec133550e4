// BlockingPool: runs blocking work (an HttpHandler, a BodyProducer) off the event loop, on threads
// started on demand up to a maximum and then reused; work beyond that waits in a queue. A
// coroutine co_awaits run(fn) and resumes on its own executor with fn's result (or its exception).
//
// The event loop keeps running while work is queued or running (each job holds a work guard on
// the awaiting coroutine's executor). Thread-safety: run() may be called from any thread.
#pragma once

#include "http/coro.h"
// (first: see coro.h)
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "http/http.h"

namespace clearhouse::http {

// The way back, from a pool thread: runs `task` on the event loop `loop` and waits for its result
// (false when it threw). The caller's coroutine must be suspended (awaiting BlockingPool::run), so
// the loop is free to run the task.
bool wait_on_loop(const LoopExecutor& loop, Task<bool> task);

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t max_threads);
  ~BlockingPool();  // finishes the queued work, then joins
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  template <typename T>
  Task<T> run(std::function<T()> fn) {
    auto initiate = [this, fn = std::move(fn)](auto handler) mutable {
      auto executor = boost::asio::get_associated_executor(handler);
      auto shared = std::make_shared<decltype(handler)>(std::move(handler));
      enqueue([fn = std::move(fn), shared, guard = boost::asio::make_work_guard(executor)]() {
        std::exception_ptr failure;
        std::optional<T> result;
        try {
          result.emplace(fn());
        } catch (...) {
          failure = std::current_exception();
        }
        boost::asio::post(guard.get_executor(),
                          [shared, failure, result = std::move(result)]() mutable {
                            (*shared)(failure, result ? std::move(*result) : T{});
                          });
      });
    };
    co_return co_await boost::asio::async_initiate<decltype(use_task), void(std::exception_ptr, T)>(
        std::move(initiate), use_task);
  }

 private:
  void enqueue(std::function<void()> job);
  void work();

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace clearhouse::http
