// The Boost.Asio coroutine vocabulary the project uses (awaitable, co_spawn, this_coro,
// use_awaitable, redirect_error, detached), behind one include: Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, so every file gets it from here, in the right order.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
// clang-format on
