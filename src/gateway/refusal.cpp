#include "gateway/refusal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace clearhouse::gateway::refusal {
namespace {

constexpr std::string_view kFixes =
    "set on_abandon: degrade in the gateway config to serve such queries with a small cap ({} "
    "tokens now), or raise the budget (budget.completion_tokens)";

std::string abandonment_reason(const AbandonedQuery& q) {
  if (q.no_upstream) {
    return fmt::format(
        "query abandoned: no upstream's bid for it (predicted need {:.0f} tokens) reaches the "
        "auction's outside value (auction.value_usd, auction.outside_value_usd)",
        q.tau_hat);
  }
  switch (q.reason) {
    case Abandonment::kCutByRemaining:
      return fmt::format(
          "query abandoned: only {} tokens are left in this window's budget, which would cut the "
          "answer at or before its predicted need ({:.0f} tokens)",
          q.remaining_tokens, q.tau_hat);
    case Abandonment::kBelowMinTokens:
      return fmt::format(
          "query abandoned: spending runs ahead of the budget's plan line and the paced cap fell "
          "below pacer.min_tokens ({})",
          q.min_tokens);
    case Abandonment::kPrice:
    case Abandonment::kNone: break;
  }
  const std::string affords =
      std::isfinite(q.largest_funded_tau) && q.largest_funded_tau >= 1.0
          ? fmt::format("the budget now funds queries predicted to need up to {:.0f} tokens",
                        q.largest_funded_tau)
          : std::string("the budget funds no query at this price");
  return fmt::format(
      "query abandoned: spending runs ahead of the budget's plan line, so the shadow price is "
      "{:.3g} per token; at that price this query (predicted need {:.0f} tokens) would get a cap "
      "of {:.0f} tokens, worth less than they cost. {}; the price falls as the plan line catches "
      "up with spend",
      q.lambda, q.tau_hat, std::floor(q.cap_at_price), affords);
}

std::string exhausted_message(const ExhaustedBudget& b, const RetryAdvice& advice) {
  const bool key = b.scope == BudgetScope::kKey;
  std::string what = key ? "this API key's token budget" : "the gateway's token budget";
  what += b.window_seconds > 0 ? fmt::format(" for this window of {} s", b.window_seconds)
                               : std::string(" (all time)");
  std::string when;
  if (b.reservations_open) {
    when = fmt::format(
        "requests in flight hold reservations; the tokens they do not use return "
        "as they finish: retry in {} s",
        advice.seconds);
  } else if (b.window_end_ms) {
    const std::int64_t left = std::max<std::int64_t>(1, (*b.window_end_ms - b.now_ms + 999) / 1000);
    when = advice.should_retry ? fmt::format("it renews in {} s", left)
                               : fmt::format(
                                     "it renews in {} s, later than a client should "
                                     "wait: do not retry before then",
                                     left);
  } else {
    when = "an all-time budget does not renew";
  }
  const std::string knob = key ? "raise the key's budget_tokens in the gateway config"
                               : "raise budget.completion_tokens in the gateway config";
  return fmt::format("{} is spent; {}. To serve more, {}", what, when, knob);
}

void add_retry_headers(http::HttpResponse& response, const RetryAdvice& advice) {
  response.headers.emplace_back("Retry-After", std::to_string(advice.seconds));
  response.headers.emplace_back("x-should-retry", advice.should_retry ? "true" : "false");
}

}  // namespace

http::HttpResponse query_abandoned(const AbandonedQuery& query) {
  const std::string message = abandonment_reason(query) + ". A retry now gets the same answer: " +
                              fmt::format(fmt::runtime(kFixes), query.degrade_tokens) + ".";
  http::HttpResponse response = http::error_response(429, message, {}, {}, "query_abandoned");
  response.headers.emplace_back("x-should-retry", "false");
  return response;
}

RetryAdvice retry_advice(const ExhaustedBudget& budget) {
  if (budget.reservations_open) return {kOpenReservationsRetrySeconds, true};
  if (budget.window_end_ms) {
    const std::int64_t left =
        std::max<std::int64_t>(1, (*budget.window_end_ms - budget.now_ms + 999) / 1000);
    if (left <= kMaxRetryAfterSeconds) return {left, true};
  }
  return {kMaxRetryAfterSeconds, false};
}

http::HttpResponse budget_exhausted(const ExhaustedBudget& budget) {
  const RetryAdvice advice = retry_advice(budget);
  const std::string_view code =
      budget.scope == BudgetScope::kKey ? "key_budget_exhausted" : "budget_exhausted";
  http::HttpResponse response =
      http::error_response(429, exhausted_message(budget, advice), {}, {}, code);
  add_retry_headers(response, advice);
  return response;
}

}  // namespace clearhouse::gateway::refusal
