#include "cli/server_lifecycle.h"

#include <pthread.h>

#include <cstdio>
#include <thread>

#include "cli/errors.h"

namespace clearhouse::cli {

sigset_t block_shutdown_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return signals;
}

int bind_and_announce(http::HttpServer& server, const std::string& host) {
  int port = 0;
  try {
    port = server.bind();
  } catch (const http::HttpBindError& e) {
    throw UsageError(e.what());
  }
  std::printf("listening on %s:%d\n", host.c_str(), port);
  std::fflush(stdout);
  return port;
}

void run_until_signal(http::HttpServer& server, const sigset_t& signals,
                      const std::function<void(int signal)>& on_signal) {
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    on_signal(signal);
    server.stop();
  });
  server.run();
  waiter.join();
}

}  // namespace clearhouse::cli
