// HttpServer: serves one HttpHandler over HTTP/1.1 (cpp-httplib underneath; nothing of it leaks
// into this header).
//
// Binding: SO_REUSEADDR only, never SO_REUSEPORT (cpp-httplib's default sets SO_REUSEPORT; we
// replace its socket options), so a second server on a port in use fails to bind with
// HttpBindError instead of silently sharing the port. Port 0 picks a free port; port() tells which.
//
// Threads: one thread per open connection (a connection holds its thread while it streams or waits
// for its next keep-alive request). Threads start on demand up to `max_threads` and are then
// reused; connections beyond that wait in a queue. Long streams therefore do not starve short
// requests until max_threads connections are open at once.
//
// Lifecycle: bind() then run() (blocks) or start() (runs on a background thread); stop() from any
// thread (a signal-handling thread, a test) makes run() return once the open connections finished
// their current request. The destructor stops and joins.
//
//   HttpServer server({.host = "127.0.0.1", .port = 0}, [&](const HttpRequest& r) { return
//   router.handle(r); }); int port = server.bind(); server.start();
//   ...
//   server.stop();
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

#include "http/http.h"

namespace clearhouse::http {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                            // 0 = any free port
  std::size_t max_threads = 1024;          // connections served at once (threads start on demand)
  std::size_t max_body_bytes = 8u << 20u;  // larger request bodies get 413
  std::chrono::seconds read_timeout{30};   // per read of a request (headers or body)
  std::chrono::seconds write_timeout{30};  // per write of a response
  std::chrono::seconds keep_alive_timeout{5};  // an idle keep-alive connection is closed after it
  std::size_t keep_alive_max_requests = 1000;  // requests on one connection before it is closed
};

// bind() failed: the address is in use, or the host does not resolve to a local address.
class HttpBindError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; returns the bound port. Throws HttpBindError with the OS's reason.
  int bind();
  // Serves until stop(). Requires bind().
  void run();
  // run() on a background thread; stop() or the destructor joins it.
  void start();
  // Stops accepting, lets open connections finish their current request, and makes run() return.
  // Thread-safe and idempotent.
  void stop();

  [[nodiscard]] int port() const;
  [[nodiscard]] const HttpServerOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clearhouse::http
