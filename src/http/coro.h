// The Boost.Asio coroutine vocabulary the project uses (awaitable, co_spawn, this_coro,
// redirect_error, detached), behind one include: Boost 1.74's awaitable.hpp uses std::exchange
// without including <utility>, so every file gets it from here, in the right order. Also the
// project's names for them: Task<T> (a coroutine on an event loop), LoopExecutor, use_task.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
// clang-format on

namespace clearhouse::http {

// The executor of an event loop: an io_context's own, not the type-erased any_io_executor, so a
// co_await on a socket copies and compares plain pointers (the type erasure cost about 12% of
// the gateway's CPU per request in perf).
using LoopExecutor = boost::asio::io_context::executor_type;

// A coroutine on an event loop (Boost.Asio's awaitable on LoopExecutor).
template <typename T>
using Task = boost::asio::awaitable<T, LoopExecutor>;

// The completion token that makes an asynchronous operation a co_await in a Task.
inline constexpr boost::asio::use_awaitable_t<LoopExecutor> use_task;

}  // namespace clearhouse::http
