#include "http/async_upstream_client.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <regex>
#include <utility>
#include <vector>

namespace clearhouse::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Sockets, streams and resolvers bound to an event loop's own executor (coro.h).
using Socket = asio::basic_stream_socket<tcp, LoopExecutor>;
using Stream = beast::basic_stream<tcp, LoopExecutor>;

constexpr std::size_t kChunkBytes = 4096;                // body bytes handed to the sink at most
constexpr std::uint64_t kMaxResponseBytes = 1ull << 30;  // a larger response is a broken one
constexpr std::size_t kMaxHeaderBytes = 64u << 10u;

std::chrono::nanoseconds to_ns(double seconds) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9));
}

// Idle keep-alive connections of one event loop, per client. A service of the loop's
// io_context, so the sockets are destroyed with the loop that owns them, whatever outlives what.
class IdleConnections : public asio::execution_context::service {
 public:
  using Connection = std::unique_ptr<Stream>;
  inline static asio::execution_context::id id;

  explicit IdleConnections(asio::execution_context& context) : service(context) {}

  Connection take(std::uint64_t client) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& idle = idle_[client];
    while (!idle.empty()) {
      Connection c = std::move(idle.back());
      idle.pop_back();
      if (still_open(*c)) return c;
    }
    return nullptr;
  }

  void put(std::uint64_t client, Connection c, std::size_t max_idle) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& idle = idle_[client];
    if (idle.size() < max_idle) idle.push_back(std::move(c));
  }

 private:
  void shutdown() override {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.clear();
  }

  // An idle connection the upstream closed reads as end-of-stream; one with unexpected bytes
  // waiting is not reusable either.
  static bool still_open(Stream& c) {
    char byte = 0;
    const ssize_t n = ::recv(c.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  std::mutex mutex_;
  std::map<std::uint64_t, std::vector<Connection>> idle_;
};

std::atomic<std::uint64_t> next_client_id{1};

UpstreamFailure failure_of(const beast::error_code& ec) {
  return ec == beast::error::timeout ? UpstreamFailure::kTimeout : UpstreamFailure::kClosed;
}

}  // namespace

struct AsyncUpstreamClient::Pools {
  std::uint64_t id = next_client_id.fetch_add(1);
};

bool AsyncUpstreamClient::supports(std::string_view base_url) {
  return base_url.substr(0, 7) == "http://";
}

AsyncUpstreamClient::AsyncUpstreamClient(UpstreamEndpoint endpoint, const base::Clock& clock)
    : endpoint_(std::move(endpoint)), clock_(clock), pools_(std::make_unique<Pools>()) {
  static const std::regex url(
      R"(^http://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?(/[^?#]*)?$)");
  std::smatch m;
  if (!std::regex_match(endpoint_.base_url, m, url)) {
    throw UpstreamUrlError("upstream '" + endpoint_.name + "': base_url '" + endpoint_.base_url +
                           "' is not http://host[:port][/prefix]");
  }
  host_header_ = m[1].str() + m[2].str();
  host_ = m[1].str();
  if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  port_ = m[3].matched ? m[3].str() : "80";
  prefix_ = m[4].str();
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
  if (!endpoint_.api_key.empty()) authorization_ = "Bearer " + endpoint_.api_key;
}

AsyncUpstreamClient::~AsyncUpstreamClient() = default;

Task<UpstreamReply> AsyncUpstreamClient::post(std::string_view path, std::string_view body,
                                              const AsyncUpstreamSink& sink) {
  const std::int64_t start = clock_.monotonic_ns();
  const std::int64_t deadline = start + to_ns(endpoint_.total_timeout_seconds).count();
  const auto read_timeout = to_ns(endpoint_.read_timeout_seconds);
  // The time a read may wait: the read timeout, or less when the whole call's deadline is nearer.
  const auto read_window = [&] {
    const auto left = std::chrono::nanoseconds(deadline - clock_.monotonic_ns());
    return std::max(std::chrono::nanoseconds(1), std::min(read_timeout, left));
  };
  const auto executor = co_await asio::this_coro::executor;
  auto& idle = asio::use_service<IdleConnections>(asio::query(executor, asio::execution::context));

  bhttp::request<bhttp::span_body<const char>> request{bhttp::verb::post,
                                                       prefix_ + std::string(path), 11};
  request.set(bhttp::field::host, host_header_);
  request.set(bhttp::field::content_type, "application/json");
  request.set(bhttp::field::accept, "application/json, text/event-stream");
  if (!authorization_.empty()) request.set(bhttp::field::authorization, authorization_);
  request.keep_alive(true);
  request.body() = beast::span<const char>(body.data(), body.size());
  request.prepare_payload();

  UpstreamReply reply;
  const auto finish = [&](UpstreamFailure failure, std::string message) {
    reply.failure = failure;
    reply.message = std::move(message);
    reply.seconds = static_cast<double>(clock_.monotonic_ns() - start) * 1e-9;
  };

  for (int attempt = 0;; ++attempt) {
    beast::error_code ec;
    IdleConnections::Connection connection = attempt == 0 ? idle.take(pools_->id) : nullptr;
    const bool reused = connection != nullptr;
    if (!reused) {
      connection = std::make_unique<Stream>(executor);
      asio::ip::basic_resolver<tcp, LoopExecutor> resolver(executor);
      const auto endpoints =
          co_await resolver.async_resolve(host_, port_, asio::redirect_error(use_task, ec));
      if (!ec && !endpoints.empty()) {
        // Opened here first so that running out of descriptors is named as such: inside
        // async_connect the failure reads "Operation canceled". (async_connect reopens it.)
        connection->socket().open(endpoints.begin()->endpoint().protocol(), ec);
        if (ec) {
          finish(UpstreamFailure::kConnect,
                 "cannot open a socket to connect to " + endpoint_.base_url + ": " + ec.message() +
                     (ec == asio::error::no_descriptors
                          ? " (the gateway's open-files limit: raise ulimit -n)"
                          : ""));
          reply.gateway_side = true;
          co_return reply;
        }
      }
      if (!ec) {
        connection->expires_after(to_ns(endpoint_.connect_timeout_seconds));
        co_await connection->async_connect(endpoints, asio::redirect_error(use_task, ec));
      }
      if (ec) {
        finish(UpstreamFailure::kConnect,
               "cannot connect to " + endpoint_.base_url + ": " +
                   (ec == beast::error::timeout ? std::string("timed out") : ec.message()));
        co_return reply;
      }
      connection->socket().set_option(tcp::no_delay(true), ec);
    }
    connection->expires_after(read_window());
    co_await bhttp::async_write(*connection, request, asio::redirect_error(use_task, ec));
    beast::flat_buffer buffer(kMaxHeaderBytes);
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxResponseBytes);
    if (!ec) {
      connection->expires_after(read_window());
      co_await bhttp::async_read_header(*connection, buffer, parser,
                                        asio::redirect_error(use_task, ec));
    }
    if (ec) {
      // A reused connection the upstream closed as we wrote: the request was not read; once more
      // on a new connection.
      if (reused && ec != beast::error::timeout) continue;
      finish(failure_of(ec),
             (ec == beast::error::timeout ? "no response within the timeout: "
                                          : "connection lost before the response: ") +
                 ec.message());
      co_return reply;
    }
    reply.status = parser.get().result_int();
    const auto retry_after = parser.get().find(bhttp::field::retry_after);
    if (retry_after != parser.get().end()) reply.retry_after = std::string(retry_after->value());

    char chunk[kChunkBytes];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      connection->expires_after(read_window());
      co_await bhttp::async_read_some(*connection, buffer, parser,
                                      asio::redirect_error(use_task, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      const std::size_t n = sizeof chunk - parser.get().body().size;
      if (n > 0) {
        // (co_await kept out of &&: GCC 12 miscompiles it in a short-circuit operand)
        const bool go_on = co_await sink(reply.status, std::string_view(chunk, n));
        if (!go_on) {
          finish(UpstreamFailure::kCanceled, "the caller stopped reading");
          co_return reply;  // the connection is dropped: the upstream sees the client leave
        }
      }
      if (ec) {
        finish(failure_of(ec), (ec == beast::error::timeout ? "the response stalled: "
                                                            : "the response broke off: ") +
                                   ec.message());
        co_return reply;
      }
      if (clock_.monotonic_ns() > deadline) {
        finish(UpstreamFailure::kTimeout, "the response took longer than the total timeout");
        co_return reply;
      }
    }
    finish(UpstreamFailure::kNone, "");
    if (parser.get().keep_alive() && buffer.size() == 0) {
      connection->expires_never();
      idle.put(pools_->id, std::move(connection), endpoint_.max_idle_connections);
    }
    co_return reply;
  }
}

Task<UpstreamReply> AsyncUpstreamClient::post_collect(std::string_view path,
                                                      std::string_view body) {
  std::string collected;
  UpstreamReply reply =
      co_await post(path, body, [&collected](int, std::string_view bytes) -> Task<bool> {
        collected.append(bytes);
        co_return true;
      });
  reply.body = std::move(collected);
  co_return reply;
}

}  // namespace clearhouse::http
