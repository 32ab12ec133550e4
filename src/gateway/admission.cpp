#include "gateway/admission.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gateway/refusal.h"
#include "openai/responses_translate.h"

namespace clearhouse::gateway {
namespace {

refusal::ExhaustedBudget exhausted(const Gateway::Impl& g, refusal::BudgetScope scope,
                                   std::int64_t now_ms, std::optional<std::int64_t> window_end_ms) {
  return {scope, now_ms, window_end_ms, g.open_reservations.load() > 0, g.config.window_seconds};
}

// The upstreams serving the requested model; HttpError 400 without a model, 404 for one no
// upstream serves (never answered by another model).
const std::vector<std::size_t>& serving(const Gateway::Impl& g, const std::string& model) {
  if (model.empty()) {
    throw http::HttpError(400,
                          "missing required parameter: 'model' (GET /v1/models lists the models "
                          "this gateway serves)",
                          "invalid_request_error", "model", "missing_required_parameter");
  }
  const std::vector<std::size_t>* upstreams = g.routes.find(model);
  if (upstreams == nullptr) {
    // A client's string, echoed cut short, at a code point boundary (the body must stay UTF-8).
    constexpr std::size_t kShownBytes = 100;
    std::size_t cut = std::min(model.size(), kShownBytes);
    while (cut > 0 && cut < model.size() &&
           (static_cast<unsigned char>(model[cut]) & 0xC0u) == 0x80u) {
      --cut;
    }
    std::string shown = model.substr(0, cut);
    if (cut < model.size()) shown += "...";
    throw http::HttpError(404,
                          "the model '" + shown +
                              "' does not exist here: GET /v1/models lists the models and aliases "
                              "this gateway serves",
                          "invalid_request_error", "model", "model_not_found");
  }
  return *upstreams;
}

// Every upstream serving the model has an open circuit (or a probe running): 503, to retry when
// the next probe is due.
http::HttpResponse no_upstream_callable(const Admission& a) {
  const double wait = a.route.seconds_until_callable();
  http::HttpResponse response = http::error_response(
      503,
      "no upstream serving the model '" + a.request.model +
          "' is up: each failed repeatedly and waits for its cool-down before the next probe",
      {}, {}, "upstream_unavailable");
  response.headers.emplace_back(
      "Retry-After", std::to_string(std::max<std::int64_t>(1, std::llround(std::ceil(wait)))));
  return response;
}

}  // namespace

std::variant<Admission, http::HttpResponse> admit(Gateway::Impl& g,
                                                  const http::HttpRequest& request,
                                                  openai::Endpoint endpoint) {
  if (g.draining) {
    throw http::HttpError(503, "the gateway is shutting down; retry on another instance", {}, {},
                          "shutting_down");
  }
  Admission a;
  a.key_id = g.authenticate(request);
  a.request =
      openai::parse_completion_request(request.body, endpoint, g.config.limits.max_json_depth);
  const std::vector<std::size_t>& upstreams = serving(g, a.request.model);
  if (endpoint == openai::Endpoint::kResponses) {
    // Refused before anything is reserved, and whichever upstream the auction picks (or a
    // failover reaches): a request that a chat upstream of this model could not be sent.
    for (const std::size_t k : upstreams) {
      if (g.config.upstreams[k].api == UpstreamApi::kChat) {
        openai::check_chat_translatable(a.request);
        break;
      }
    }
  }
  a.route = UpstreamRoute(g.upstream_health, upstreams);
  if (!a.route.any_callable()) return no_upstream_callable(a);
  const std::string_view dataset_header = request.header("x-clearhouse-dataset");
  const std::string dataset =
      dataset_header.empty() ? a.request.dataset : std::string(dataset_header);
  a.tau_hat =
      g.predictor ? g.predictor->predict(a.request.prompt, dataset) : g.config.pacer.default_tau;

  a.now_ms = g.clock.now_ms();
  const BudgetView view = g.budget_view.get(a.now_ms);
  const PacerDecision decision = g.pacer.decide(a.tau_hat, a.now_ms, view);
  a.cap = decision.cap;
  std::optional<AuctionPick> pick = a.route.choose(g.auction, std::max<std::int64_t>(a.cap, 1));
  if (!pick) return no_upstream_callable(a);  // a racing request took the last probe
  a.pick = *pick;
  if (view.remaining_tokens < g.config.pacer.min_tokens * a.request.generations()) {
    g.metrics.count_budget_rejection();
    return refusal::budget_exhausted(
        exhausted(g, refusal::BudgetScope::kGlobal, a.now_ms, view.window_end_ms));
  }
  if (!decision.funded || !a.pick.sold) {
    if (g.config.on_abandon == AbandonAction::kReject) {
      g.metrics.count_abandoned("reject");
      return refusal::query_abandoned(
          {.reason = decision.abandonment,
           .no_upstream = decision.funded && !a.pick.sold,
           .lambda = decision.lambda,
           .tau_hat = a.tau_hat,
           .cap_at_price = decision.cap_at_price,
           .largest_funded_tau = g.pacer.largest_funded_tau(decision.lambda, decision.beta),
           .remaining_tokens = decision.remaining_tokens,
           .min_tokens = g.config.pacer.min_tokens,
           .degrade_tokens = g.config.degrade_tokens});
    }
    g.metrics.count_abandoned("degrade");
    a.cap = g.config.degrade_tokens;
    pick = a.route.choose(g.auction, a.cap);
    if (!pick) return no_upstream_callable(a);
    a.pick = *pick;
  }
  if (const auto client_cap = a.request.client_cap()) a.cap = std::min(a.cap, *client_cap);
  return a;
}

std::optional<http::HttpResponse> reserve(Gateway::Impl& g, Admission& a, Flight& flight) {
  const std::int64_t generations = a.request.generations();
  const std::size_t upstream = a.pick.winner;
  const std::string& upstream_name = g.config.upstreams[upstream].name;
  std::string id = g.next_request_id();
  ledger::ReserveResult reserve =
      g.ledger.reserve(id, a.key_id, upstream_name, a.cap * generations, ledger::IdCheck::kFreshId);
  if (reserve.status == ledger::ReserveStatus::kOverGlobalBudget ||
      reserve.status == ledger::ReserveStatus::kOverKeyBudget) {
    const auto remaining = reserve.status == ledger::ReserveStatus::kOverGlobalBudget
                               ? reserve.global_remaining
                               : reserve.key_remaining;
    const std::int64_t fit = remaining.value_or(0) / generations;
    if (fit >= g.config.pacer.min_tokens && fit < a.cap) {
      a.cap = fit;
      reserve = g.ledger.reserve(id, a.key_id, upstream_name, a.cap * generations,
                                 ledger::IdCheck::kFreshId);
    }
  }
  g.budget_view.observe(reserve, a.now_ms);
  switch (reserve.status) {
    case ledger::ReserveStatus::kReserved: break;
    case ledger::ReserveStatus::kOverGlobalBudget:
      g.metrics.count_budget_rejection();
      return refusal::budget_exhausted(
          exhausted(g, refusal::BudgetScope::kGlobal, a.now_ms, reserve.window_end_ms));
    case ledger::ReserveStatus::kOverKeyBudget:
      g.metrics.count_budget_rejection();
      return refusal::budget_exhausted(
          exhausted(g, refusal::BudgetScope::kKey, a.now_ms, reserve.window_end_ms));
    case ledger::ReserveStatus::kDuplicateId:
      throw http::HttpError(500, "request id collision in the ledger; retry");
  }
  flight.reserved(std::move(id), upstream, a.pick, a.cap, a.cap * generations);
  return std::nullopt;
}

}  // namespace clearhouse::gateway
