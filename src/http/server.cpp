// One of two files that include cpp-httplib (the other is upstream_client.cpp): adapts its
// Request/Response to HttpRequest/HttpResponse, replaces its socket options (no SO_REUSEPORT) and
// its fixed thread pool.
#include "http/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace clearhouse::http {
namespace {

// Starts a thread per queued connection while none is idle, up to `max_threads`; threads are reused
// and joined at shutdown. cpp-httplib's ThreadPool has a fixed size, which long streams exhaust.
class GrowingThreadPool : public httplib::TaskQueue {
 public:
  explicit GrowingThreadPool(std::size_t max_threads)
      : max_threads_(std::max<std::size_t>(1, max_threads)) {}
  ~GrowingThreadPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(fn));
    if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { work(); });
    } else {
      cond_.notify_one();
    }
  }

  void shutdown() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
      threads.swap(threads_);
    }
    cond_.notify_all();
    for (auto& t : threads) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ++idle_;
        cond_.wait(lock, [this] { return !jobs_.empty() || shutdown_; });
        --idle_;
        if (jobs_.empty()) return;  // shutdown with nothing left to do
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  const std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool shutdown_ = false;
};

// cpp-httplib listens with a backlog of 5 (compiled into Debian's shared library): a burst of
// connections overflows it and clients see resets. Listening again on the bound socket raises it.
class BacklogServer : public httplib::Server {
 public:
  void raise_backlog() {
    const socket_t sock = svr_sock_;
    if (sock != INVALID_SOCKET) ::listen(sock, SOMAXCONN);
  }
};

class SinkWriter : public BodyWriter {
 public:
  explicit SinkWriter(httplib::DataSink& sink) : sink_(sink) {}
  bool write(std::string_view data) override {
    if (data.empty()) return sink_.is_writable ? sink_.is_writable() : true;
    return sink_.write(data.data(), data.size());
  }

 private:
  httplib::DataSink& sink_;
};

HttpRequest to_request(const httplib::Request& in) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  out.headers.reserve(in.headers.size());
  for (const auto& [key, value] : in.headers) out.headers.emplace_back(key, value);
  out.body = in.body;
  return out;
}

void to_response(HttpResponse in, httplib::Response& out) {
  out.status = in.status;
  for (auto& [key, value] : in.headers) out.set_header(key, value);
  if (in.stream) {
    out.set_chunked_content_provider(
        in.content_type,
        [producer = std::move(in.stream)](std::size_t /*offset*/, httplib::DataSink& sink) {
          SinkWriter writer(sink);
          if (!producer(writer)) return false;  // drops the connection mid-body
          sink.done();
          return true;
        });
  } else {
    out.set_content(in.body, in.content_type);
  }
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  BacklogServer server;
  int port = -1;
  std::thread background;

  std::mutex mutex;
  std::condition_variable cond;
  bool stop_requested = false;
  bool running = false;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
  auto& server = impl_->server;
  const std::size_t max_threads = impl_->options.max_threads;
  server.new_task_queue = [max_threads] { return new GrowingThreadPool(max_threads); };
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
  // peer's delayed ACK add ~40 ms to every response.
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(impl_->options.max_body_bytes);
  server.set_read_timeout(impl_->options.read_timeout);
  server.set_write_timeout(impl_->options.write_timeout);
  server.set_keep_alive_timeout(impl_->options.keep_alive_timeout.count());
  server.set_keep_alive_max_count(impl_->options.keep_alive_max_requests);
  const auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    to_response(call_handler(impl_->handler, to_request(req)), res);
  };
  server.Get(".*", serve);
  server.Post(".*", serve);
  server.Put(".*", serve);
  server.Delete(".*", serve);
  server.Patch(".*", serve);
  server.Options(".*", serve);
  // cpp-httplib answers some failures itself (413 for a too large body, 400 for a bad request line)
  // with an empty body: give them an OpenAI error body.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    const std::string message =
        res.status == 413 ? "request body too large" : "HTTP error " + std::to_string(res.status);
    res.set_content(error_body(res.status, message).dump(), "application/json");
  });
}

HttpServer::~HttpServer() {
  stop();
}

int HttpServer::bind() {
  const auto& o = impl_->options;
  errno = 0;
  int port = -1;
  if (o.port == 0) {
    port = impl_->server.bind_to_any_port(o.host);
  } else if (impl_->server.bind_to_port(o.host, o.port)) {
    port = o.port;
  }
  if (port < 0) {
    const int err = errno;
    std::string reason = err != 0 ? std::strerror(err) : "cannot bind";
    throw HttpBindError("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " +
                        reason + (err == EADDRINUSE ? " (is another server on this port?)" : ""));
  }
  impl_->server.raise_backlog();
  impl_->port = port;
  return port;
}

void HttpServer::run() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->stop_requested) return;
    impl_->running = true;
  }
  impl_->server.listen_after_bind();
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->running = false;
  }
  impl_->cond.notify_all();
}

void HttpServer::start() {
  impl_->background = std::thread([this] { run(); });
}

void HttpServer::stop() {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->stop_requested = true;
  // run() may be between marking itself running and cpp-httplib marking itself running, when
  // Server::stop() is a no-op: repeat until run() has returned.
  while (impl_->running) {
    impl_->server.stop();
    impl_->cond.wait_for(lock, std::chrono::milliseconds(20));
  }
  lock.unlock();
  if (impl_->background.joinable()) impl_->background.join();
}

int HttpServer::port() const {
  return impl_->port;
}

const HttpServerOptions& HttpServer::options() const {
  return impl_->options;
}

}  // namespace clearhouse::http
