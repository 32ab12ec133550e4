// Gateway: the OpenAI-compatible proxy of `clearhouse serve`, as one HttpHandler (no sockets here:
// HttpServer serves it, tests call handle() directly). It paces a token budget with the CLEAR
// shadow price and never spends beyond it. The user guide, with the path of a request and the
// threads, is docs/gateway.md.
//
// Routes: POST /v1/chat/completions and /v1/completions (streaming SSE or not), GET /v1/models,
// GET /health, GET /metrics (Prometheus), GET /admin/state (admin key only).
//
// A completion request: authenticate (Bearer key, stored hashed) -> parse -> the upstreams serving
// its model (model_routes.h: 400 without one, 404 model_not_found for one nobody serves, 503 when
// all of them are marked down, upstream_health.h) -> predict the threshold tau_hat -> the pacer's
// cap t*(lambda) or abandonment (429, refusal.h, or a small cap under on_abandon: degrade) -> cap =
// min(ours, the client's) -> pick the upstream (auction among those up, upstream_route.h) ->
// reserve cap x choices in the ledger (a 429 when the budget cannot fit it) -> forward (once more
// on the next-best upstream when the call failed before answering, failover.h) -> relay
// -> settle what was generated (usage as reported, else estimated; a timeout with nothing known
// counts the whole reservation) -> the rest returns to the pool -> feed the pacer. Every reserved
// request is settled or released exactly once, on every path: success, upstream error, timeout, the
// client leaving mid-stream, shutdown.
//
// Budget guarantee: the upstream is never asked for more than was reserved, and reservations never
// exceed the budget (ledger.h), so spend stays within the budget unless an upstream generates
// beyond the cap it was sent (then the overrun is recorded, never hidden).
//
// Thread-safety: handle(), handle_async() and admit_head() may be called from any number of threads
// (event loops) at once.
//
//   Gateway gateway(load_gateway_config("gateway.yaml"), ledger, clock, predictor);
//   options.admit_head = [&](HttpRequest& h) { return gateway.admit_head(h); };
//   HttpServer server(options, [&](const HttpRequest& r) { return gateway.handle_async(r); });
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/clock.h"
#include "gateway/gateway_config.h"
#include "http/http.h"
#include "http/server.h"
#include "ledger/ledger.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::gateway {

// The server options of the config's listen address and `limits` (the front door's limits; the
// caller adds admit_head, Gateway::admit_head, once the Gateway exists).
[[nodiscard]] http::HttpServerOptions front_door_options(const GatewayConfig& config);

// The key id recorded in the ledger for requests when no client keys are configured.
inline constexpr std::string_view kAnonymousKeyId = "anonymous";

class Gateway {
 public:
  // Configures the ledger's budgets from `config` (global and per key; keys no longer configured
  // lose their budgets). Does not reconcile: the caller does that once at startup, before serving.
  // Throws std::invalid_argument for an upstream base_url that is not http://host[:port][/prefix].
  // The ledger and the clock must outlive the Gateway.
  Gateway(GatewayConfig config, ledger::Ledger& ledger, const base::Clock& clock,
          std::optional<predict::ThresholdPredictor> predictor = std::nullopt);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Serves one request on the caller's event loop (the server's AsyncHttpHandler).
  [[nodiscard]] http::Task<http::HttpResponse> handle_async(const http::HttpRequest& request);
  // The same, run to completion on a private loop; a stream comes back as a blocking
  // BodyProducer (tests and tools).
  [[nodiscard]] http::HttpResponse handle(const http::HttpRequest& request);
  // The server's admit_head: a completion request whose API key is missing or wrong is refused
  // (401) on its head, before its body is read. nullopt: read the body and serve it; the key's id
  // is then in head.principal, and the handler does not hash the key again.
  [[nodiscard]] std::optional<http::HttpResponse> admit_head(http::HttpRequest& head);

  // Shutdown, in this order: drain() makes new completion requests fail with 503 while those in
  // flight go on; wait_idle() waits (up to timeout) until none is in flight; abort_streams() makes
  // streams still running stop at their next bytes and settle what they generated.
  void drain();
  bool wait_idle(std::chrono::milliseconds timeout);
  void abort_streams();
  [[nodiscard]] std::int64_t in_flight() const;

  // The body of GET /admin/state and of GET /metrics.
  [[nodiscard]] nlohmann::json admin_state() const;
  [[nodiscard]] std::string metrics_text() const;

  [[nodiscard]] const GatewayConfig& config() const;

  struct Impl;  // internal (gateway_impl.h)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace clearhouse::gateway
