#include "gateway/admission.h"

#include <algorithm>

#include "gateway/refusal.h"

namespace clearhouse::gateway {
namespace {

refusal::ExhaustedBudget exhausted(const Gateway::Impl& g, refusal::BudgetScope scope,
                                   std::int64_t now_ms, std::optional<std::int64_t> window_end_ms) {
  return {scope, now_ms, window_end_ms, g.open_reservations.load() > 0, g.config.window_seconds};
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
  const std::string_view dataset_header = request.header("x-clearhouse-dataset");
  const std::string dataset =
      dataset_header.empty() ? a.request.dataset : std::string(dataset_header);
  a.tau_hat =
      g.predictor ? g.predictor->predict(a.request.prompt, dataset) : g.config.pacer.default_tau;

  a.now_ms = g.clock.now_ms();
  const BudgetView view = g.budget_view.get(a.now_ms);
  const PacerDecision decision = g.pacer.decide(a.tau_hat, a.now_ms, view);
  a.cap = decision.cap;
  a.pick = g.auction.pick(std::max<std::int64_t>(a.cap, 1));
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
    a.pick = g.auction.pick(a.cap);
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
      g.ledger.reserve(id, a.key_id, upstream_name, a.cap * generations);
  if (reserve.status == ledger::ReserveStatus::kOverGlobalBudget ||
      reserve.status == ledger::ReserveStatus::kOverKeyBudget) {
    const auto remaining = reserve.status == ledger::ReserveStatus::kOverGlobalBudget
                               ? reserve.global_remaining
                               : reserve.key_remaining;
    const std::int64_t fit = remaining.value_or(0) / generations;
    if (fit >= g.config.pacer.min_tokens && fit < a.cap) {
      a.cap = fit;
      reserve = g.ledger.reserve(id, a.key_id, upstream_name, a.cap * generations);
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
