// The life of a long-running server subcommand (`serve`, `replay-upstream`): bind and announce the
// port, serve until SIGINT or SIGTERM, shut down outside any signal handler.
//
// Signals: block_shutdown_signals() blocks SIGINT and SIGTERM in the calling thread, so it must run
// before any thread starts (threads inherit the mask); run_until_signal() then waits for them on
// one thread with sigwait. SIGPIPE is ignored: a client that hangs up mid-write must not kill the
// server.
//
//   const sigset_t signals = block_shutdown_signals();
//   HttpServer server(options, handler);
//   bind_and_announce(server, options.host);      // stdout: "listening on 127.0.0.1:PORT"
//   run_until_signal(server, signals, [&](int) { drain(); });
#pragma once

#include <csignal>
#include <functional>
#include <string>

#include "http/server.h"

namespace clearhouse::cli {

[[nodiscard]] sigset_t block_shutdown_signals();

// Binds (a port in use or a bad host is a UsageError) and prints "listening on HOST:PORT" on
// stdout, flushed at once so scripts and tests can wait for it. Returns the port.
int bind_and_announce(http::HttpServer& server, const std::string& host);

// Serves until one of `signals` arrives; then runs on_signal(signal) on the waiting thread (it may
// block, e.g. to let requests in flight finish) and stops the server. Returns once the server has
// stopped.
void run_until_signal(http::HttpServer& server, const sigset_t& signals,
                      const std::function<void(int signal)>& on_signal);

}  // namespace clearhouse::cli
