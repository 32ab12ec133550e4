// UpstreamClient: calls one OpenAI-compatible upstream (vLLM, llama.cpp's server, OpenAI, the
// replay upstream) over HTTP/1.1 with keep-alive, for many threads at once. cpp-httplib underneath
// (only in upstream_client.cpp); its clients serialise their requests, so this keeps a pool of
// them, one per concurrent call, and reuses idle ones.
//
// A call streams the response body to a callback as bytes arrive (whole bodies are collected by
// post_collect), so one code path serves streaming and non-streaming requests, and the caller can
// stop early (the client went away): returning false from the callback closes the connection, which
// makes vLLM and llama.cpp abort the generation.
//
// Timeouts (seconds): connect; read, the longest silence between bytes; total, the whole call
// (checked whenever bytes arrive and enforced by the read timeout when they do not). Failures are
// values (UpstreamReply::failure), never exceptions. The API key goes only into the Authorization
// header; it is never part of a message.
//
//   UpstreamClient client({.name = "vllm", .base_url = "http://127.0.0.1:8000", .api_key = key});
//   UpstreamReply reply = client.post_collect("/v1/chat/completions", body);
//   if (reply.failure == UpstreamFailure::kNone && reply.status == 200) use(reply.body);
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"

namespace clearhouse::http {

struct UpstreamEndpoint {
  std::string name{};  // for messages and metrics
  std::string
      base_url{};         // http[s]://host[:port][/prefix]; https verifies the server's certificate
                          // against the system's CA store (cpp-httplib built with OpenSSL)
  std::string api_key{};  // "" = no Authorization header
  double connect_timeout_seconds = 5.0;
  double read_timeout_seconds = 120.0;
  double total_timeout_seconds = 600.0;
  std::size_t max_idle_connections = 256;  // idle keep-alive connections kept for reuse
};

enum class UpstreamFailure {
  kNone,      // a complete HTTP response arrived (any status)
  kConnect,   // no connection (refused, unreachable, connect timeout): nothing was sent
  kTimeout,   // read or total timeout after the request was sent
  kClosed,    // the connection broke before the response was complete
  kCanceled,  // the caller's callback returned false
};
[[nodiscard]] std::string_view to_string(UpstreamFailure failure);

struct UpstreamReply {
  UpstreamFailure failure = UpstreamFailure::kNone;
  int status = 0;           // HTTP status, 0 when no response head arrived
  std::string body;         // post_collect only
  std::string message;      // what went wrong, for logs and error bodies ("" on success)
  std::string retry_after;  // the response's Retry-After header ("" when absent)
  double seconds = 0.0;     // wall time of the call
  // The failure was the gateway's own, not the upstream's (no descriptor left to open a socket):
  // it says nothing of the upstream's health.
  bool gateway_side = false;
};

// Receives the response body in pieces, with the status of the response head. Return false to stop.
using UpstreamBodySink = std::function<bool(int status, std::string_view bytes)>;

// Thrown by the constructor for a base_url that is not http[s]://host[:port][/prefix].
class UpstreamUrlError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class UpstreamClient {
 public:
  // clock: deadlines and durations are measured on its monotonic time (base/clock.h).
  explicit UpstreamClient(UpstreamEndpoint endpoint,
                          const base::Clock& clock = base::system_clock());
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // POSTs a JSON body to base_url's prefix + path. Thread-safe.
  UpstreamReply post(std::string_view path, std::string body, const UpstreamBodySink& sink);
  UpstreamReply post_collect(std::string_view path, std::string body);

  [[nodiscard]] const UpstreamEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Pool;
  UpstreamEndpoint endpoint_;
  const base::Clock& clock_;
  std::string origin_;  // scheme://host:port
  std::string prefix_;  // "" or "/prefix"
  std::unique_ptr<Pool> pool_;
};

}  // namespace clearhouse::http
