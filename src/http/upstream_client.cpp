#include "http/upstream_client.h"

#include <httplib.h>

#include <mutex>
#include <regex>
#include <utility>
#include <vector>

namespace clearhouse::http {

std::string_view to_string(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::kNone: return "none";
    case UpstreamFailure::kConnect: return "connect";
    case UpstreamFailure::kTimeout: return "timeout";
    case UpstreamFailure::kClosed: return "closed";
    case UpstreamFailure::kCanceled: return "canceled";
  }
  return "?";
}

struct UpstreamClient::Pool {
  std::mutex mutex;
  std::vector<std::unique_ptr<httplib::Client>> idle;
};

namespace {

using Seconds = std::chrono::duration<double>;

std::int64_t seconds_to_ns(double seconds) {
  return static_cast<std::int64_t>(seconds * 1e9);
}
double ns_to_seconds(std::int64_t ns) {
  return static_cast<double>(ns) * 1e-9;
}

template <class Duration>
Duration to_duration(double seconds) {
  return std::chrono::duration_cast<Duration>(Seconds(seconds));
}

std::unique_ptr<httplib::Client> make_client(const std::string& origin, const UpstreamEndpoint& e) {
  auto client = std::make_unique<httplib::Client>(origin);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // without it small requests wait for delayed ACKs (~40 ms)
  client->set_connection_timeout(to_duration<std::chrono::microseconds>(e.connect_timeout_seconds));
  client->set_read_timeout(to_duration<std::chrono::microseconds>(e.read_timeout_seconds));
  client->set_write_timeout(to_duration<std::chrono::microseconds>(e.read_timeout_seconds));
  return client;
}

}  // namespace

UpstreamClient::UpstreamClient(UpstreamEndpoint endpoint, const base::Clock& clock)
    : endpoint_(std::move(endpoint)), clock_(clock), pool_(std::make_unique<Pool>()) {
  static const std::regex url(
      R"(^(https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?)(/[^?#]*)?$)");
  std::smatch m;
  if (!std::regex_match(endpoint_.base_url, m, url)) {
    throw UpstreamUrlError("upstream '" + endpoint_.name + "': base_url '" + endpoint_.base_url +
                           "' is not http[s]://host[:port][/prefix]");
  }
  origin_ = m[1].str();
  prefix_ = m[4].str();
  while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
}

UpstreamClient::~UpstreamClient() = default;

UpstreamReply UpstreamClient::post(std::string_view path, std::string body,
                                   const UpstreamBodySink& sink) {
  const std::int64_t start = clock_.monotonic_ns();
  const std::int64_t deadline = start + seconds_to_ns(endpoint_.total_timeout_seconds);
  std::unique_ptr<httplib::Client> client;
  {
    std::lock_guard<std::mutex> lock(pool_->mutex);
    if (!pool_->idle.empty()) {
      client = std::move(pool_->idle.back());
      pool_->idle.pop_back();
    }
  }
  if (!client) client = make_client(origin_, endpoint_);

  UpstreamReply reply;
  bool sink_stopped = false;
  bool total_expired = false;
  auto last_bytes = start;  // a read timeout is a silence this long, not a long call
  httplib::Request request;
  request.method = "POST";
  request.path = prefix_ + std::string(path);
  request.headers.emplace("Content-Type", "application/json");
  request.headers.emplace("Accept", "application/json, text/event-stream");
  if (!endpoint_.api_key.empty()) {
    request.headers.emplace("Authorization", "Bearer " + endpoint_.api_key);
  }
  request.body = std::move(body);
  request.response_handler = [&](const httplib::Response& head) {
    reply.status = head.status;
    reply.retry_after = head.get_header_value("Retry-After");
    last_bytes = clock_.monotonic_ns();
    return true;
  };
  request.content_receiver = [&](const char* data, std::size_t size, std::uint64_t, std::uint64_t) {
    last_bytes = clock_.monotonic_ns();
    if (last_bytes > deadline) {
      total_expired = true;
      return false;
    }
    if (!sink(reply.status, std::string_view(data, size))) {
      sink_stopped = true;
      return false;
    }
    return true;
  };
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  const bool ok = client->send(request, response, error);
  reply.seconds = ns_to_seconds(clock_.monotonic_ns() - start);
  if (ok) {
    reply.status = response.status;
    std::lock_guard<std::mutex> lock(pool_->mutex);
    if (pool_->idle.size() < endpoint_.max_idle_connections)
      pool_->idle.push_back(std::move(client));
    return reply;
  }
  // A client whose call failed may hold a broken connection: drop it.
  if (sink_stopped) {
    reply.failure = UpstreamFailure::kCanceled;
    reply.message = "the request was canceled before the upstream finished";
  } else if (total_expired) {
    reply.failure = UpstreamFailure::kTimeout;
    reply.message =
        "no complete response within " + std::to_string(endpoint_.total_timeout_seconds) + " s";
  } else if (error == httplib::Error::Connection || error == httplib::Error::ConnectionTimeout ||
             error == httplib::Error::BindIPAddress) {
    reply.failure = UpstreamFailure::kConnect;
    reply.message = "cannot connect to " + origin_ + ": " + httplib::to_string(error);
  } else if (error == httplib::Error::Read && ns_to_seconds(clock_.monotonic_ns() - last_bytes) >=
                                                  endpoint_.read_timeout_seconds * 0.95) {
    reply.failure = UpstreamFailure::kTimeout;
    reply.message = "no bytes for " + std::to_string(endpoint_.read_timeout_seconds) + " s";
  } else {
    reply.failure = UpstreamFailure::kClosed;
    reply.message = "the upstream connection broke: " + httplib::to_string(error);
  }
  return reply;
}

UpstreamReply UpstreamClient::post_collect(std::string_view path, std::string body) {
  std::string collected;
  UpstreamReply reply = post(path, std::move(body), [&](int, std::string_view bytes) {
    collected.append(bytes);
    return true;
  });
  reply.body = std::move(collected);
  return reply;
}

}  // namespace clearhouse::http
