// AsyncUpstreamClient: UpstreamClient's event-loop form (Boost.Beast underneath, only in
// async_upstream_client.cpp). A call is a coroutine on the caller's event loop: while it waits for
// the upstream it holds no thread, so the gateway's streams cost a socket and a few kilobytes each,
// not a thread.
//
// Same contract as UpstreamClient (upstream_client.h): POSTs JSON to base_url's prefix + path,
// streams the response body to the sink as bytes arrive (the sink is a coroutine too, so the caller
// can write to its client before reading on: backpressure), failures are values, the API key goes
// only into the Authorization header. Timeouts: connect; read, the longest silence between bytes;
// total, the whole call.
//
// Connections: keep-alive connections are pooled per event loop (an io_context), so a connection
// is only ever used by the thread that runs its loop. A pooled connection the upstream closed is
// detected before reuse, and a request whose reused connection fails before any byte of the
// response is sent once more on a new connection.
//
// Scheme: http only. https upstreams use the blocking UpstreamClient (the gateway decides, see
// supports()).
//
// Thread-safety: post() may be called concurrently from coroutines on any number of event loops.
//
//   AsyncUpstreamClient client({.name = "vllm", .base_url = "http://127.0.0.1:8000"});
//   UpstreamReply reply = co_await client.post_collect("/v1/chat/completions", body);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "http/http.h"
#include "http/upstream_client.h"

namespace clearhouse::http {

// Receives the response body in pieces, with the status of the response head; co_return false to
// stop (the connection is closed, which makes vLLM and llama.cpp abort the generation).
using AsyncUpstreamSink = std::function<Task<bool>(int status, std::string_view bytes)>;

class AsyncUpstreamClient {
 public:
  // Throws UpstreamUrlError for a base_url that is not http://host[:port][/prefix].
  explicit AsyncUpstreamClient(UpstreamEndpoint endpoint,
                               const base::Clock& clock = base::system_clock());
  ~AsyncUpstreamClient();
  AsyncUpstreamClient(const AsyncUpstreamClient&) = delete;
  AsyncUpstreamClient& operator=(const AsyncUpstreamClient&) = delete;

  // Whether this client can call base_url (http://, not https://).
  [[nodiscard]] static bool supports(std::string_view base_url);

  // `body` must stay valid until the returned task completes.
  Task<UpstreamReply> post(std::string_view path, std::string_view body,
                           const AsyncUpstreamSink& sink);
  Task<UpstreamReply> post_collect(std::string_view path, std::string_view body);

  [[nodiscard]] const UpstreamEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Pools;
  UpstreamEndpoint endpoint_;
  const base::Clock& clock_;
  std::string host_, port_, prefix_, host_header_;
  std::string authorization_;  // "Bearer <key>", or "" for none
  std::unique_ptr<Pools> pools_;
};

}  // namespace clearhouse::http
