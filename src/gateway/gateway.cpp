#include "gateway/gateway.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <utility>

#include "gateway/gateway_impl.h"

namespace clearhouse::gateway {
namespace {

using nlohmann::json;

PacerOptions pacer_options(const GatewayConfig& c) {
  PacerOptions o;
  o.policy = c.policy;
  o.alpha = c.utility.alpha;
  o.beta = c.utility.beta;
  o.window_queries = c.pacer.window_queries;
  o.min_tokens = c.pacer.min_tokens;
  o.max_tokens = c.pacer.max_tokens;
  o.window_ms = c.window_seconds * 1000;
  o.horizon_ms = c.pacer.horizon_seconds * 1000;
  o.headroom_share = c.pacer.headroom_share;
  o.price_band_share = c.pacer.price_band_share;
  return o;
}

UpstreamAuction make_auction(const GatewayConfig& c) {
  std::vector<UpstreamBidder> bidders;
  for (const UpstreamConfig& u : c.upstreams) {
    bidders.push_back({u.name, u.price_per_mtok / 1e6, AccuracyCurve(u.accuracy_curve)});
  }
  return UpstreamAuction(std::move(bidders), c.auction.value_usd, c.auction.outside_value_usd);
}

std::vector<std::string> upstream_names(const GatewayConfig& c) {
  std::vector<std::string> names;
  for (const UpstreamConfig& u : c.upstreams) names.push_back(u.name);
  return names;
}

// The route table: every route of the gateway, its metric label and its handler: `handle` at once,
// or `handle_async` on the event loop (the completions, which wait for an upstream). `needs_key`:
// the client's API key is checked on the request's head, before its body is read.
struct RouteEntry {
  std::string_view method, path, label;
  http::HttpResponse (*handle)(Gateway::Impl& g, const http::HttpRequest& request);
  http::Task<http::HttpResponse> (*handle_async)(Gateway::Impl& g,
                                                 const http::HttpRequest& request);
  bool needs_key = false;
};

constexpr std::array<RouteEntry, 7> kRoutes{{
    {"POST", "/v1/chat/completions", "chat_completions", nullptr,
     [](Gateway::Impl& g, const http::HttpRequest& r) {
       return g.completion(r, openai::Endpoint::kChat, "chat_completions");
     },
     true},
    {"POST", "/v1/completions", "completions", nullptr,
     [](Gateway::Impl& g, const http::HttpRequest& r) {
       return g.completion(r, openai::Endpoint::kCompletions, "completions");
     },
     true},
    {"POST", "/v1/responses", "responses", nullptr,
     [](Gateway::Impl& g, const http::HttpRequest& r) {
       return g.completion(r, openai::Endpoint::kResponses, "responses");
     },
     true},
    {"GET", "/v1/models", "models",
     [](Gateway::Impl& g, const http::HttpRequest& r) { return g.models(r); }, nullptr},
    {"GET", "/health", "health",
     [](Gateway::Impl& g, const http::HttpRequest&) { return g.health(); }, nullptr},
    {"GET", "/metrics", "metrics",
     [](Gateway::Impl& g, const http::HttpRequest&) { return g.metrics_route(); }, nullptr},
    {"GET", "/admin/state", "admin_state",
     [](Gateway::Impl& g, const http::HttpRequest& r) { return g.admin_state_route(r); }, nullptr},
}};

http::Router make_router(Gateway::Impl& g) {
  http::Router router;
  for (const RouteEntry& route : kRoutes) {
    if (route.handle_async != nullptr) {
      router.add_async(
          std::string(route.method), std::string(route.path), std::string(route.label),
          [&g, handle = route.handle_async](const http::HttpRequest& r) { return handle(g, r); });
    } else {
      router.add(std::string(route.method), std::string(route.path), std::string(route.label),
                 [&g, handle = route.handle](const http::HttpRequest& r) { return handle(g, r); });
    }
  }
  return router;
}

}  // namespace

Gateway::Impl::Impl(GatewayConfig config_in, ledger::Ledger& ledger_in, const base::Clock& clock_in,
                    std::optional<predict::ThresholdPredictor> predictor_in)
    : config(std::move(config_in)),
      ledger(ledger_in),
      clock(clock_in),
      predictor(std::move(predictor_in)),
      keys(config.keys),
      pacer(pacer_options(config)),
      auction(make_auction(config)),
      routes(config.upstreams),
      upstream_health(config.upstreams.size(),
                      {.failure_threshold = config.health.failure_threshold,
                       .cooldown_seconds = config.health.cooldown_seconds},
                      clock),
      router(make_router(*this)),
      metrics(router.labels(), upstream_names(config)),
      rng(std::random_device{}()) {
  for (const UpstreamConfig& u : config.upstreams) {
    const http::UpstreamEndpoint endpoint{u.name,
                                          u.base_url,
                                          u.api_key,
                                          u.connect_timeout_seconds,
                                          u.read_timeout_seconds,
                                          u.total_timeout_seconds};
    upstreams.push_back(std::make_unique<http::UpstreamClient>(endpoint, clock));
    async_upstreams.push_back(http::AsyncUpstreamClient::supports(u.base_url)
                                  ? std::make_unique<http::AsyncUpstreamClient>(endpoint, clock)
                                  : nullptr);
  }
  ledger.configure_budget(
      {.window_seconds = config.window_seconds, .global_tokens = config.budget_tokens});
  for (const auto& [id, tokens] : ledger.key_budgets()) {
    const bool configured = std::any_of(config.keys.begin(), config.keys.end(),
                                        [&](const ClientKeyConfig& k) { return k.id == id; });
    if (!configured) ledger.set_key_budget(id, std::nullopt);
  }
  for (const ClientKeyConfig& k : config.keys) ledger.set_key_budget(k.id, k.budget_tokens);
}

std::string Gateway::Impl::authenticate(const http::HttpRequest& request) const {
  if (keys.empty()) return std::string(kAnonymousKeyId);
  if (!request.principal.empty()) return request.principal;  // admit_head checked the key
  const auto token = bearer_token(request.header("authorization"));
  if (!token) {
    throw http::HttpError(401, "missing API key: send 'Authorization: Bearer <key>'", {}, {},
                          "invalid_api_key");
  }
  auto id = keys.authenticate(*token);
  if (!id) throw http::HttpError(401, "invalid API key", {}, {}, "invalid_api_key");
  return std::move(*id);
}

http::HttpResponse Gateway::Impl::health() const {
  return http::json_response(draining ? 503 : 200, {{"status", draining ? "draining" : "ok"}});
}

http::HttpResponse Gateway::Impl::metrics_route() const {
  http::HttpResponse response;
  response.content_type = std::string(kPrometheusContentType);
  response.body = metrics_text();
  return response;
}

http::HttpResponse Gateway::Impl::models(const http::HttpRequest& request) const {
  (void)authenticate(request);
  json data = json::array();
  for (const ModelName& model : routes.names()) {
    json served_by = json::array();
    for (const std::size_t k : model.upstreams) served_by.push_back(config.upstreams[k].name);
    // owned_by: the one upstream serving it, else "clearhouse" (the auction chooses per request).
    data.push_back({{"id", model.name},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", model.upstreams.size() == 1 ? served_by[0] : json("clearhouse")},
                    {"upstreams", std::move(served_by)}});
  }
  return http::json_response(200, {{"object", "list"}, {"data", data}});
}

http::HttpResponse Gateway::Impl::admin_state_route(const http::HttpRequest& request) const {
  if (config.admin_key_sha256.empty()) {
    throw http::HttpError(403, "the admin API is disabled: set admin_key in the config", {}, {},
                          "admin_disabled");
  }
  const auto token = bearer_token(request.header("authorization"));
  if (!token || !secret_matches(*token, config.admin_key_sha256)) {
    throw http::HttpError(401, "admin key required", {}, {}, "invalid_api_key");
  }
  return http::json_response(200, state());
}

namespace {

json ledger_state(const ledger::LedgerWriteStats& s) {
  return {{"writes", s.writes},
          {"commits", s.commits},
          {"largest_batch", s.largest_batch},
          {"recovered_writes", s.recovered_writes},
          {"unapplied_writes", s.unapplied_writes},
          {"apply_failures", s.apply_failures},
          {"last_apply_error", s.last_apply_error}};
}

// Each upstream's model names and circuit breaker, in config order.
json upstreams_state(const Gateway::Impl& g) {
  json out = json::array();
  for (std::size_t k = 0; k < g.config.upstreams.size(); ++k) {
    const UpstreamConfig& u = g.config.upstreams[k];
    const HealthSnapshot h = g.upstream_health.snapshot(k);
    json transitions = json::object();
    for (std::size_t i = 0; i < kCircuitStates.size(); ++i) {
      transitions[std::string(to_string(kCircuitStates[i]))] = h.transitions[i];
    }
    out.push_back({{"name", u.name},
                   {"model", u.model},
                   {"aliases", u.aliases},
                   {"circuit", to_string(h.state)},
                   {"consecutive_failures", h.consecutive_failures},
                   {"probe_in_flight", h.probe_in_flight},
                   {"probe_in_seconds", h.probe_in_seconds},
                   {"transitions", std::move(transitions)}});
  }
  return out;
}

}  // namespace

json Gateway::Impl::state() const {
  const PacerState p = pacer.state();
  const ledger::WindowTotals w = ledger.window_totals();
  json budget = {{"window_seconds", config.window_seconds},
                 {"window_start_ms", w.window_start_ms},
                 {"budget_tokens", w.budget_tokens.value_or(0)},
                 {"spent_tokens", w.spent_tokens},
                 {"reserved_tokens", w.reserved_tokens},
                 {"remaining_tokens", w.remaining_tokens.value_or(0)}};
  if (w.window_end_ms) budget["window_end_ms"] = *w.window_end_ms;
  return {{"pacer",
           {{"policy", to_string(config.policy)},
            {"lambda", p.lambda},
            {"pressure", p.pressure},
            {"plan_tokens", p.plan_tokens},
            {"even_line_tokens", p.even_line_tokens},
            {"committed_tokens", p.committed_tokens},
            {"band_tokens", p.band_tokens},
            {"usage_ratio", p.usage_ratio},
            {"median_tau", p.median_tau},
            {"beta", p.beta},
            {"window_size", p.window_size},
            {"decisions", p.decisions},
            {"abandoned", p.abandoned}}},
          {"budget", budget},
          {"ledger", ledger_state(ledger.write_stats())},
          {"upstreams", upstreams_state(*this)},
          {"in_flight_requests", in_flight.load()},
          {"draining", draining.load()},
          {"predictor", predictor ? predictor->backbone() : std::string()},
          {"config", describe_config(config)}};
}

std::string Gateway::Impl::metrics_text() const {
  const PacerState p = pacer.state();
  const ledger::WindowTotals w = ledger.window_totals();
  GatewayMetrics::Gauges g;
  g.shadow_price = p.lambda;
  g.allowance_tokens = p.plan_tokens - p.committed_tokens;
  g.budget_tokens = w.budget_tokens.value_or(0);
  g.budget_remaining_tokens = w.remaining_tokens.value_or(0);
  g.reserved_tokens = w.reserved_tokens;
  g.open_reservations = open_reservations.load();
  g.in_flight_requests = in_flight.load();
  g.usage_ratio = p.usage_ratio;
  const ledger::LedgerWriteStats ledger_stats = ledger.write_stats();
  g.ledger_unapplied_writes = static_cast<std::int64_t>(ledger_stats.unapplied_writes);
  g.ledger_apply_failures = ledger_stats.apply_failures;
  for (std::size_t k = 0; k < config.upstreams.size(); ++k) {
    g.upstream_health.emplace_back(config.upstreams[k].name, upstream_health.snapshot(k));
  }
  return metrics.render(g);
}

std::string Gateway::Impl::next_request_id() {
  std::lock_guard<std::mutex> lock(rng_mutex);
  return ledger::make_request_id(rng, clock.now_ms());
}

void Gateway::Impl::enter() {
  in_flight.fetch_add(1);
}

void Gateway::Impl::leave() {
  if (in_flight.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> lock(idle_mutex);
    idle.notify_all();
  }
}

http::HttpServerOptions front_door_options(const GatewayConfig& config) {
  const auto milliseconds = [](double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::max(1.0, seconds * 1000.0)));
  };
  const LimitsConfig& limits = config.limits;
  http::HttpServerOptions o;
  o.host = config.listen_host;
  o.port = config.listen_port;
  o.max_connections = limits.max_connections;
  o.max_connections_per_client = limits.max_connections_per_client;
  o.max_blocking_threads = limits.max_connections;
  o.max_body_bytes = limits.max_body_bytes;
  o.max_header_bytes = limits.max_header_bytes;
  o.max_header_count = limits.max_header_count;
  o.max_url_bytes = limits.max_url_bytes;
  o.io_threads = limits.event_loops;
  o.header_timeout = milliseconds(limits.header_timeout_seconds);
  o.body_timeout = milliseconds(limits.body_timeout_seconds);
  o.keep_alive_timeout = milliseconds(limits.idle_timeout_seconds);
  return o;
}

Gateway::Gateway(GatewayConfig config, ledger::Ledger& ledger, const base::Clock& clock,
                 std::optional<predict::ThresholdPredictor> predictor)
    : impl_(std::make_unique<Impl>(std::move(config), ledger, clock, std::move(predictor))) {}

Gateway::~Gateway() = default;

http::HttpResponse Gateway::handle(const http::HttpRequest& request) {
  http::HttpResponse response = http::run_to_completion(handle_async(request));
  http::make_stream_blocking(response);
  return response;
}

http::Task<http::HttpResponse> Gateway::handle_async(const http::HttpRequest& request) {
  const std::int64_t start_ns = impl_->clock.monotonic_ns();
  http::HttpResponse response = co_await impl_->router.handle_async(request);
  const std::string_view route = impl_->router.label_of(request);
  impl_->metrics.count_request(route, response.status);
  if (!response.stream && !response.async_stream) {  // a stream observes its duration at its end
    impl_->metrics.observe_request_seconds(route, static_cast<double>(std::max<std::int64_t>(
                                                      0, impl_->clock.monotonic_ns() - start_ns)) *
                                                      1e-9);
  }
  co_return response;
}

std::optional<http::HttpResponse> Gateway::admit_head(http::HttpRequest& head) {
  const auto route = std::find_if(kRoutes.begin(), kRoutes.end(), [&](const RouteEntry& r) {
    return r.path == head.path && r.method == head.method;
  });
  if (route == kRoutes.end() || !route->needs_key) return std::nullopt;
  std::optional<http::HttpResponse> refusal;
  try {
    head.principal = impl_->authenticate(head);
  } catch (const http::HttpError& e) {
    refusal = http::error_response(e);
  }
  if (refusal) impl_->metrics.count_request(route->label, refusal->status);
  return refusal;
}

void Gateway::drain() {
  impl_->draining = true;
}

bool Gateway::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->idle_mutex);
  return impl_->idle.wait_for(lock, timeout, [this] { return impl_->in_flight.load() == 0; });
}

void Gateway::abort_streams() {
  impl_->aborting = true;
}

std::int64_t Gateway::in_flight() const {
  return impl_->in_flight.load();
}

nlohmann::json Gateway::admin_state() const {
  return impl_->state();
}

std::string Gateway::metrics_text() const {
  return impl_->metrics_text();
}

const GatewayConfig& Gateway::config() const {
  return impl_->config;
}

}  // namespace clearhouse::gateway
