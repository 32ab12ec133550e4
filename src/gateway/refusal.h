// The gateway's refusals (HTTP 429), built so that clients do the right thing with them: an OpenAI
// error body ({"error": {message, type "rate_limit_error", param null, code}}) whose message says
// what the budget affords now and which knob changes it, plus the headers the OpenAI SDKs read.
//
//   query_abandoned        CLEAR abandoned the request: at the current shadow price it is not worth
//                          its tokens. A retry at the same price gets the same answer, so the reply
//                          carries `x-should-retry: false` (the OpenAI SDKs then fail at once with
//                          a RateLimitError instead of backing off) and no Retry-After.
//   budget_exhausted       The window's global budget, or the key's, cannot fit even min_tokens.
//   key_budget_exhausted   Retry-After is honest and never above kMaxRetryAfterSeconds:
//                            reservations open   tokens they do not use come back as they settle:
//                                                kOpenReservationsRetrySeconds, x-should-retry:
//                                                true
//                            window ends within  the seconds to the next window, x-should-retry:
//                            true
//                              the ceiling
//                            otherwise           the ceiling, x-should-retry: false (a timed budget
//                                                renews later than a client should wait; an
//                                                all-time budget never renews)
//
// Units: tokens, seconds (Retry-After), milliseconds (times on the ledger's clock), utility per
// token (prices). Pure functions: no I/O, no clock (now is passed in); safe to call from any
// thread.
//
//   return refusal::budget_exhausted({.scope = BudgetScope::kGlobal, .now_ms = now, ...});
#pragma once

#include <cstdint>
#include <optional>

#include "gateway/pacer.h"
#include "http/http.h"

namespace clearhouse::gateway::refusal {

// No Retry-After the gateway sends is larger: a client waiting longer looks frozen to its user.
inline constexpr std::int64_t kMaxRetryAfterSeconds = 30;
// With reservations open, settling requests return their unused tokens within about this long.
inline constexpr std::int64_t kOpenReservationsRetrySeconds = 2;

struct AbandonedQuery {
  Abandonment reason = Abandonment::kPrice;
  bool no_upstream = false;           // the upstream auction sold to no one (reason is then unused)
  double lambda = 0.0;                // the shadow price, utility per token
  double tau_hat = 0.0;               // the query's predicted need, tokens
  double cap_at_price = 0.0;          // what t*(lambda) would give it, tokens
  double largest_funded_tau = 0.0;    // the largest predicted need the price funds now, tokens
  std::int64_t remaining_tokens = 0;  // left in the window's budget
  std::int64_t min_tokens = 1;        // pacer.min_tokens
  std::int64_t degrade_tokens = 64;   // what on_abandon: degrade would send
};

[[nodiscard]] http::HttpResponse query_abandoned(const AbandonedQuery& query);

enum class BudgetScope { kGlobal, kKey };

struct ExhaustedBudget {
  BudgetScope scope = BudgetScope::kGlobal;
  std::int64_t now_ms = 0;
  std::optional<std::int64_t> window_end_ms{};  // nullopt: an all-time budget
  bool reservations_open = false;   // requests in flight hold reservations that may return tokens
  std::int64_t window_seconds = 0;  // the budget's window (0: all time), for the message
};

struct RetryAdvice {
  std::int64_t seconds = 1;  // Retry-After, in [1, kMaxRetryAfterSeconds]
  bool should_retry = true;  // x-should-retry
};

[[nodiscard]] RetryAdvice retry_advice(const ExhaustedBudget& budget);
// 429 with code budget_exhausted (global scope) or key_budget_exhausted (key scope).
[[nodiscard]] http::HttpResponse budget_exhausted(const ExhaustedBudget& budget);

}  // namespace clearhouse::gateway::refusal
