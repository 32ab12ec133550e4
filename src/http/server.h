// HttpServer: serves HTTP/1.1 (and 1.0) on an event loop (Boost.Beast and Boost.Asio underneath;
// nothing of them leaks into this header besides http.h's Task).
//
// Connections: one coroutine per connection on `io_threads` event-loop threads, so an idle or
// slow connection costs no thread and no CPU. Limits, each answered with an OpenAI error body and
// the connection closed: the whole header section must arrive within header_timeout (408), be at
// most max_header_bytes (431) with at most max_header_count fields (431) and a target of at most
// max_url_bytes (414); the whole body within body_timeout (408) and at most max_body_bytes for
// every transfer encoding (413). A keep-alive connection waits at most keep_alive_timeout for its
// next request. Pipelined requests are answered in order. Beyond max_connections open connections,
// or max_connections_per_client from one address, a new connection gets a 503 and is closed.
//
// Before the body: `admit_head` (optional) sees the method, path and headers of each request
// before its body is read; a response it returns is sent at once and the connection closed, the
// body never read (the gateway checks the API key there, so an unauthenticated client cannot make
// it read a large body).
//
// Handlers: an AsyncHttpHandler runs on the event loop; an HttpHandler (which may block: the
// replay upstream's delays) and every BodyProducer run on a pool of threads started on demand, up
// to max_blocking_threads; AsyncBodyProducers run on the event loop. HTTP/1.0 clients get streamed
// bodies without chunked encoding, ended by closing the connection.
//
// Binding: SO_REUSEADDR only, never SO_REUSEPORT, so a second server on a port in use fails to
// bind with HttpBindError. Port 0 picks a free port; port() tells which.
//
// Lifecycle: bind() then run() (blocks) or start() (runs on a background thread); stop() from any
// thread makes run() return once the open connections finished their current request (idle
// connections are closed at once). The destructor stops and joins.
//
//   HttpServer server({.host = "127.0.0.1", .port = 0},
//                     [&](const HttpRequest& r) { return router.handle_async(r); });
//   int port = server.bind(); server.start();
//   ...
//   server.stop();
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "http/http.h"

namespace clearhouse::http {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                                // 0 = any free port
  std::size_t io_threads = 0;                  // event-loop threads; 0 = one per core
  std::size_t max_blocking_threads = 1024;     // HttpHandlers and BodyProducers at once
  std::size_t max_connections = 10'000;        // open connections, all clients
  std::size_t max_connections_per_client = 0;  // open connections from one address; 0 = no limit
  std::size_t max_body_bytes = 8u << 20u;      // larger request bodies get 413
  std::size_t max_header_bytes = 16u << 10u;   // request line and header fields
  std::size_t max_header_count = 100;
  std::size_t max_url_bytes = 8u << 10u;
  std::chrono::milliseconds header_timeout{10'000};     // the whole header section
  std::chrono::milliseconds body_timeout{30'000};       // the whole body
  std::chrono::milliseconds write_timeout{30'000};      // each write of a response
  std::chrono::milliseconds keep_alive_timeout{5'000};  // idle wait for the next request
  std::size_t keep_alive_max_requests = 1000;  // requests on one connection before it is closed
  // Sees each request's head (body empty) before its body is read; a response it returns is sent
  // and the connection closed; it may set head.principal for the handler. Runs on the event loop:
  // must not block.
  std::function<std::optional<HttpResponse>(HttpRequest& head)> admit_head{};
};

// bind() failed: the address is in use, or the host does not resolve to a local address.
class HttpBindError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  HttpServer(HttpServerOptions options, AsyncHttpHandler handler);
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
  // Connections open now (for metrics and tests).
  [[nodiscard]] std::size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clearhouse::http
