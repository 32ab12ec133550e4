// Internal to the gateway (gateway.cpp, gateway_completion.cpp, flight.cpp): the state one Gateway
// holds and the handlers' helpers. Not part of the public API.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gateway/api_keys.h"
#include "gateway/budget_view_cache.h"
#include "gateway/gateway.h"
#include "gateway/metrics.h"
#include "gateway/model_routes.h"
#include "gateway/pacer.h"
#include "gateway/upstream_auction.h"
#include "gateway/upstream_health.h"
#include "http/async_upstream_client.h"
#include "http/blocking_pool.h"
#include "http/upstream_client.h"
#include "ledger/request_id.h"
#include "openai/request.h"

namespace clearhouse::gateway {

struct Gateway::Impl {
  Impl(GatewayConfig config_in, ledger::Ledger& ledger_in, const base::Clock& clock_in,
       std::optional<predict::ThresholdPredictor> predictor_in);

  // Route handlers (the route table is in gateway.cpp). completion() is gateway_completion.cpp, a
  // coroutine on the server's event loop; route is its metric label.
  http::Task<http::HttpResponse> completion(const http::HttpRequest& request,
                                            openai::Endpoint endpoint, std::string_view route);
  http::HttpResponse models(const http::HttpRequest& request) const;
  http::HttpResponse health() const;
  http::HttpResponse metrics_route() const;
  http::HttpResponse admin_state_route(const http::HttpRequest& request) const;

  // The key id of an authenticated client request; throws HttpError 401 otherwise.
  [[nodiscard]] std::string authenticate(const http::HttpRequest& request) const;
  [[nodiscard]] nlohmann::json state() const;
  [[nodiscard]] std::string metrics_text() const;
  [[nodiscard]] std::string next_request_id();

  // Calls upstream i on the caller's event loop: the event-loop client for http://, the blocking
  // client on the blocking pool for https:// (its sink is then run on the caller's loop, waited
  // for). `body` must stay valid until the task completes.
  http::Task<http::UpstreamReply> call_upstream(std::size_t i, std::string_view path,
                                                std::string_view body,
                                                const http::AsyncUpstreamSink& sink);
  http::Task<http::UpstreamReply> call_upstream_collect(std::size_t i, std::string_view path,
                                                        std::string_view body);

  // Requests in flight: counted from admission to settlement (a stream until its producer ends).
  void enter();
  void leave();

  GatewayConfig config;
  ledger::Ledger& ledger;
  const base::Clock& clock;
  std::optional<predict::ThresholdPredictor> predictor;
  ApiKeyTable keys;
  Pacer pacer;
  BudgetViewCache budget_view{
      ledger};  // what the pacer sees of the budget (no ledger read per request)
  UpstreamAuction auction;
  ModelRoutes routes;              // which upstreams serve each model name
  UpstreamHealth upstream_health;  // a circuit breaker per upstream, in config order
  // In config order; async_upstreams[i] is null when upstream i is https (see call_upstream).
  std::vector<std::unique_ptr<http::UpstreamClient>> upstreams;
  std::vector<std::unique_ptr<http::AsyncUpstreamClient>> async_upstreams;
  http::BlockingPool blocking{1024};  // https upstream calls
  http::Router router;  // the route table (before metrics: its labels name the series)
  GatewayMetrics metrics;

  std::atomic<bool> draining{false};
  std::atomic<bool> aborting{false};
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> open_reservations{0};  // reserved by this process, not yet closed
  std::mutex idle_mutex;
  std::condition_variable idle;

  std::mutex rng_mutex;
  std::mt19937_64 rng;
};

}  // namespace clearhouse::gateway
