// The one file that includes Boost.Beast's server side: one io_context per event-loop thread
// (io_threads of them), a coroutine per connection on one of them, assigned in turn. A connection,
// and whatever its handler does on the loop (the gateway's upstream calls), stays on one thread:
// no strands, no locks on the connection's path.
#include "http/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "http/blocking_pool.h"
#include "http/request_head.h"

namespace clearhouse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Sockets, streams and resolvers bound to an event loop's own executor (coro.h).
using Socket = asio::basic_stream_socket<tcp, LoopExecutor>;
using Stream = beast::basic_stream<tcp, LoopExecutor>;

// Counts open connections, overall and per client address; admit() refuses beyond the limits.
class ConnectionCounter {
 public:
  ConnectionCounter(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  bool admit(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (total_ >= max_total_) return false;
    if (max_per_client_ > 0 && per_client_[client] >= max_per_client_) return false;
    ++total_;
    if (max_per_client_ > 0) ++per_client_[client];
    return true;
  }

  void leave(const std::string& client) {
    std::lock_guard<std::mutex> lock(mutex_);
    --total_;
    if (max_per_client_ == 0) return;
    const auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  }

  [[nodiscard]] std::size_t total() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return total_;
  }

 private:
  const std::size_t max_total_, max_per_client_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_client_;
};

std::string status_line(unsigned version, int status) {
  const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return std::string(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ") + std::to_string(status) + " " +
         std::string(reason.empty() ? "Unknown" : std::string_view(reason.data(), reason.size()));
}

// The response head, written by hand: the handlers' headers are ours to trust (no CR/LF from
// clients reaches them), and it saves building a Beast message per response.
std::string response_head(const HttpResponse& response, unsigned version, bool keep_alive,
                          std::optional<std::size_t> content_length, bool chunked) {
  std::string head = status_line(version, response.status);
  head += "\r\nContent-Type: " + response.content_type;
  for (const auto& [name, value] : response.headers) head += "\r\n" + name + ": " + value;
  if (content_length) head += "\r\nContent-Length: " + std::to_string(*content_length);
  if (chunked) head += "\r\nTransfer-Encoding: chunked";
  head += keep_alive ? "\r\nConnection: keep-alive" : "\r\nConnection: close";
  head += "\r\n\r\n";
  return head;
}

// One open connection, as stop() sees it: its socket, and whether it waits for a request.
struct OpenConnection {
  Socket* socket = nullptr;
  bool idle = false;
};

// The open connections of one event loop, a service of its io_context: added, marked idle and
// removed on that loop only, and read there by stop()'s posted task, so no lock is taken on a
// request's path.
class LoopConnections : public asio::execution_context::service {
 public:
  inline static asio::execution_context::id id;
  explicit LoopConnections(asio::execution_context& context) : service(context) {}

  void add(OpenConnection* c) { open_.insert(c); }
  void remove(OpenConnection* c) { open_.erase(c); }
  void cancel_idle() {
    for (OpenConnection* c : open_) {
      if (!c->idle) continue;
      beast::error_code ec;
      c->socket->cancel(ec);
    }
  }

 private:
  void shutdown() override { open_.clear(); }
  std::unordered_set<OpenConnection*> open_;
};

}  // namespace

struct HttpServer::Impl {
  Impl(HttpServerOptions options_in, AsyncHttpHandler async_in, HttpHandler sync_in)
      : options(std::move(options_in)),
        async_handler(std::move(async_in)),
        sync_handler(std::move(sync_in)),
        loops(make_loops(options.io_threads)),
        acceptor(*loops.front()),
        connections(options.max_connections, options.max_connections_per_client),
        blocking(options.max_blocking_threads) {}

  Task<void> accept_loop();
  Task<void> serve(Socket socket);
  Task<HttpResponse> respond(const HttpRequest& request);

  static std::vector<std::unique_ptr<asio::io_context>> make_loops(std::size_t threads) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (std::size_t i = 0; i < threads; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  HttpServerOptions options;
  AsyncHttpHandler async_handler;
  HttpHandler sync_handler;
  std::vector<std::unique_ptr<asio::io_context>> loops;  // loops[0] also runs the acceptor
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::size_t next_loop = 0;  // the accept loop's, only
  asio::basic_socket_acceptor<tcp, LoopExecutor> acceptor;
  ConnectionCounter connections;
  BlockingPool blocking;
  int port = -1;
  std::atomic<bool> stopping{false};
  std::thread background;

  std::mutex run_mutex;
  std::condition_variable run_cond;
  bool running = false;
};

namespace {

// Writes a streamed body to one connection: chunked for HTTP/1.1, raw for HTTP/1.0. Each write
// completes when the bytes are handed to the socket, so a slow client slows its producer.
class ConnectionWriter : public AsyncBodyWriter {
 public:
  ConnectionWriter(Stream& stream, bool chunked, std::chrono::milliseconds timeout)
      : stream_(stream), chunked_(chunked), timeout_(timeout) {}

  Task<bool> write(std::string_view data) override {
    if (failed_) co_return false;
    if (data.empty()) co_return true;
    beast::error_code ec;
    stream_.expires_after(timeout_);
    if (chunked_) {
      char size_line[24];
      const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
      const std::array<asio::const_buffer, 3> buffers{asio::buffer(size_line, n),
                                                      asio::buffer(data.data(), data.size()),
                                                      asio::buffer("\r\n", 2)};
      co_await asio::async_write(stream_, buffers, asio::redirect_error(use_task, ec));
    } else {
      co_await asio::async_write(stream_, asio::buffer(data.data(), data.size()),
                                 asio::redirect_error(use_task, ec));
    }
    if (ec) failed_ = true;
    co_return !failed_;
  }

  Task<bool> finish() {
    if (failed_ || !chunked_) co_return !failed_;
    beast::error_code ec;
    stream_.expires_after(timeout_);
    co_await asio::async_write(stream_, asio::buffer("0\r\n\r\n", 5),
                               asio::redirect_error(use_task, ec));
    co_return !ec;
  }

 private:
  Stream& stream_;
  const bool chunked_;
  const std::chrono::milliseconds timeout_;
  bool failed_ = false;
};

// A BodyProducer's writer on a pool thread: each write is handed to the connection's loop and
// waited for.
class BlockingWriter : public BodyWriter {
 public:
  BlockingWriter(ConnectionWriter& out, LoopExecutor loop) : out_(out), loop_(std::move(loop)) {}

  bool write(std::string_view data) override { return wait_on_loop(loop_, out_.write(data)); }

 private:
  ConnectionWriter& out_;
  LoopExecutor loop_;
};

}  // namespace

Task<HttpResponse> HttpServer::Impl::respond(const HttpRequest& request) {
  if (async_handler) co_return co_await call_async_handler(async_handler, request);
  co_return co_await blocking.run<HttpResponse>(
      [this, &request] { return call_handler(sync_handler, request); });
}

Task<void> HttpServer::Impl::serve(Socket socket) {
  const auto loop = co_await asio::this_coro::executor;
  Stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const HttpServerOptions& o = options;
  const RequestLimits limits{o.max_header_bytes, o.max_header_count, o.max_url_bytes,
                             o.max_body_bytes};
  // Known to stop() for as long as it is open; removed when this coroutine ends, however.
  LoopConnections& registry =
      asio::use_service<LoopConnections>(asio::query(loop, asio::execution::context));
  OpenConnection self{&stream.socket(), false};
  registry.add(&self);
  struct Unregister {
    LoopConnections& registry;
    OpenConnection* self;
    ~Unregister() { registry.remove(self); }
  } unregister{registry, &self};
  const auto set_idle = [&](bool is_idle) { self.idle = is_idle; };
  // Sends a response that ends the connection (a refusal, or admit_head's answer).
  const auto send_and_close = [&](unsigned version, const HttpResponse& response) -> Task<void> {
    const std::string bytes =
        response_head(response, version, false, response.body.size(), false) + response.body;
    beast::error_code ec;
    stream.expires_after(o.write_timeout);
    co_await asio::async_write(stream, asio::buffer(bytes), asio::redirect_error(use_task, ec));
    stream.socket().shutdown(Socket::shutdown_send, ec);
  };
  const auto refuse = [&](unsigned version, int status, const std::string& message) -> Task<void> {
    co_await send_and_close(version, error_response(status, message));
  };

  for (std::size_t served = 0; served < o.keep_alive_max_requests && !stopping; ++served) {
    RequestParser parser;
    apply_limits(parser, limits);
    beast::error_code ec;
    // The header section has one deadline, whatever the pace of its bytes (slowloris).
    stream.expires_after(served == 0 ? o.header_timeout : o.keep_alive_timeout);
    if (buffer.size() == 0) set_idle(true);
    co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_task, ec));
    set_idle(false);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || stopping) {
      // The client closed, was idle too long, or sent its header section too slowly (the stream
      // is closed on a timeout: nothing can be answered), or the server stops.
      break;
    }
    if (ec) {
      const Rejection r = rejection_for(ec, limits);
      co_await refuse(11, r.status, r.message);
      break;
    }
    const unsigned version = parser.get().version();
    if (const auto rejected = check_head(parser, limits)) {
      co_await refuse(version, rejected->status, rejected->message);
      break;
    }
    HttpRequest request = request_head(parser);
    if (o.admit_head) {
      if (std::optional<HttpResponse> early = o.admit_head(request)) {
        co_await send_and_close(version, *early);
        break;
      }
    }
    if (!parser.is_done()) {
      if (beast::iequals(parser.get()[bhttp::field::expect], "100-continue")) {
        const std::string_view go_on =
            version == 10 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n";
        stream.expires_after(o.write_timeout);
        co_await asio::async_write(stream, asio::buffer(go_on.data(), go_on.size()),
                                   asio::redirect_error(use_task, ec));
        if (ec) break;
      }
      stream.expires_after(o.body_timeout);  // the whole body, however it is cut
      co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_task, ec));
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted) {
          const Rejection r = rejection_for(ec, limits);
          co_await refuse(version, r.status, r.message);
        }
        break;
      }
    }
    request.body = std::move(parser.get().body());
    const bool keep_alive =
        parser.get().keep_alive() && !stopping && served + 1 < o.keep_alive_max_requests;
    stream.expires_never();  // the handler may wait for its upstream as long as it needs

    HttpResponse response = co_await respond(request);
    const bool streamed = response.stream || response.async_stream;
    const bool chunked = streamed && version != 10;
    const bool keep = keep_alive && (!streamed || chunked);
    const std::string head = response_head(
        response, version, keep,
        streamed ? std::nullopt : std::optional<std::size_t>(response.body.size()), chunked);
    stream.expires_after(o.write_timeout);
    if (!streamed) {
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                                      asio::buffer(response.body)};
      co_await asio::async_write(stream, buffers, asio::redirect_error(use_task, ec));
      if (ec || !keep) break;
      continue;
    }
    co_await asio::async_write(stream, asio::buffer(head), asio::redirect_error(use_task, ec));
    if (ec) break;
    ConnectionWriter writer(stream, chunked, o.write_timeout);
    bool complete = false;
    if (response.async_stream) {
      complete = co_await response.async_stream(writer);
    } else {
      BlockingWriter blocking_writer(writer, loop);
      complete = co_await blocking.run<bool>(
          [&response, &blocking_writer] { return response.stream(blocking_writer); });
    }
    // (co_await kept out of || and &&: GCC 12 miscompiles it in a short-circuit operand)
    if (!complete) break;
    const bool ended = co_await writer.finish();
    if (!ended || !keep) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(Socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

Task<void> HttpServer::Impl::accept_loop() {
  for (;;) {
    beast::error_code ec;
    asio::io_context& target = *loops[next_loop];
    next_loop = (next_loop + 1) % loops.size();
    Socket socket = co_await acceptor.async_accept(target, asio::redirect_error(use_task, ec));
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // a connection reset before it was accepted, or out of descriptors
    socket.set_option(tcp::no_delay(true), ec);
    beast::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    std::string client = peer_ec ? std::string() : peer.address().to_string();
    if (!connections.admit(client)) {
      // Over the limit: answered without reading anything, on the accept loop (a short write; a
      // client that does not read it just loses it).
      const HttpResponse busy =
          error_response(503, "too many connections; retry later", {}, {}, "too_many_connections");
      const std::string bytes = response_head(busy, 11, false, busy.body.size(), false) + busy.body;
      socket.non_blocking(true, ec);
      socket.send(asio::buffer(bytes), 0, ec);
      socket.close(ec);
      continue;
    }
    asio::co_spawn(
        target,
        [this, socket = std::move(socket), client]() mutable -> Task<void> {
          try {
            co_await serve(std::move(socket));
          } catch (const std::exception& e) {
            std::fprintf(stderr, "http: connection from %s ended by an error: %s\n", client.c_str(),
                         e.what());
          }
          connections.leave(client);
        },
        asio::detached);
  }
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), AsyncHttpHandler{}, std::move(handler))) {}

HttpServer::HttpServer(HttpServerOptions options, AsyncHttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), HttpHandler{})) {}

HttpServer::~HttpServer() {
  stop();
}

int HttpServer::bind() {
  const auto& o = impl_->options;
  beast::error_code ec;
  const auto address = asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host, ec);
  if (ec) throw HttpBindError("cannot listen on " + o.host + ": not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(SOMAXCONN, ec);
  if (ec) {
    throw HttpBindError(
        "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message() +
        (ec == asio::error::address_in_use ? " (is another server on this port?)" : ""));
  }
  impl_->port = acceptor.local_endpoint().port();
  return impl_->port;
}

void HttpServer::run() {
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.run_mutex);
    if (impl.stopping) return;
    impl.running = true;
    // Each loop runs until stop() lets it go and its connections have ended.
    for (auto& loop : impl.loops) impl.keep_running.push_back(asio::make_work_guard(*loop));
  }
  asio::co_spawn(*impl.loops.front(), impl.accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl.loops.size(); ++i) {
    threads.emplace_back([&impl, i] { impl.loops[i]->run(); });
  }
  impl.loops.front()->run();
  for (auto& t : threads) t.join();
  {
    std::lock_guard<std::mutex> lock(impl.run_mutex);
    impl.running = false;
  }
  impl.run_cond.notify_all();
}

void HttpServer::start() {
  impl_->background = std::thread([this] { run(); });
}

void HttpServer::stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.run_mutex);
    impl.stopping = true;
    for (auto& guard : impl.keep_running) guard.reset();
  }
  asio::post(*impl.loops.front(), [&impl] {
    beast::error_code ec;
    impl.acceptor.close(ec);
  });
  // Each loop cancels its own idle connections (the registry is touched on its loop only).
  for (auto& loop : impl.loops) {
    asio::post(*loop,
               [&context = *loop] { asio::use_service<LoopConnections>(context).cancel_idle(); });
  }
  {
    // Connections that turn idle after this point see `stopping` and end by themselves.
    std::unique_lock<std::mutex> lock(impl.run_mutex);
    impl.run_cond.wait(lock, [&impl] { return !impl.running; });
  }
  if (impl.background.joinable()) impl.background.join();
}

int HttpServer::port() const {
  return impl_->port;
}

const HttpServerOptions& HttpServer::options() const {
  return impl_->options;
}

std::size_t HttpServer::open_connections() const {
  return impl_->connections.total();
}

}  // namespace clearhouse::http
