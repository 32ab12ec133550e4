// The online pacer: the token cap of each arriving request, set at once, so that spend tracks a
// budget window's rate. Online CLEAR: the offline shadow price (core/shadow_price.h) re-solved on a
// sliding window of recent queries against the tokens the window can afford per request right now.
//
// Per decision, for a request with predicted threshold tau_hat (tokens) at time now_ms:
//  1. The ring of the last `window_queries` predicted thresholds and arrival times takes the request.
//  2. Allowance b = remaining_tokens / R (tokens per request), R >= 1 the expected number of requests
//     still to come in this window, this one included:
//       expected_requests_per_window E > 0:  timed window  R = E (end - now) / (end - start)
//                                            all-time      R = E - decisions so far in the window
//       E = 0, arrival rate r estimated from the ring (requests in it over their time span):
//                                            timed window  R = 1 + r (end - now)
//                                            all-time      R = window_queries (spend a 1/window
//                                                          share of what is left per request: the
//                                                          remainder decays geometrically, never
//                                                          runs out)
//       Before the rate is known (fewer than two arrivals, or all at one millisecond) R =
//       window_queries: a new window starts cautious and learns the rate within two requests.
//     remaining_tokens already excludes open reservations, so b rises when the window under-spends
//     and falls when it over-spends: that is the feedback from actual spend.
//  3. Usage ratio rho = recent used tokens / recent caps (exponentially weighted over about
//     window_queries settlements, clamped to [0.05, 1], 1 before any feedback): requests stop before
//     their cap and the unused tokens return to the pool, so caps may sum to b / rho per request.
//  4. Policy:
//       clear      lambda solves CLEAR (paper utility, core::build_utilities) on the ring's thresholds
//                  for a budget of ring_size * b / rho. Funded iff lambda < the request's abandonment
//                  price; cap = floor(t*(lambda)). Re-solving costs O(window), so lambda is re-solved
//                  only every `resolve_every` decisions, or sooner when the ring budget moved by more
//                  than `resolve_tolerance` (relative) or the ring is still filling. In between, a
//                  decision is O(1): W0(lambda e / alpha) is shared by all queries and kept.
//       uniform    cap = floor(b / rho).
//       predictor  cap = floor(b / rho * tau_hat / mean of the ring's thresholds).
//  5. The cap is clamped to max_tokens and to remaining_tokens (a larger cap could never be
//     reserved); below min_tokens the request is abandoned. Under clear, a request whose cap the
//     remaining tokens cut to at most tau_hat is abandoned too: it would stop before any chance of
//     a right answer.
// The gateway still reserves the cap in the ledger, which is what guarantees zero overshoot when
// several requests race for the last tokens.
//
// Units: tokens (whole for caps), milliseconds for times, utility per token for prices (alpha's unit).
// Pure logic: no I/O, no clock (time is passed in), no randomness.
// Thread-safety: decide(), record_usage() and state() may be called concurrently (one mutex).
//
// Example:
//   Pacer pacer({.policy = PacingPolicy::kClear, .window_queries = 512});
//   const WindowTotals w = ledger.window_totals();       // a window with a global budget
//   PacerDecision d = pacer.decide(tau_hat, clock.now_ms(),
//                                  {*w.budget_tokens, *w.remaining_tokens, w.window_start_ms,
//                                   w.window_end_ms});
//   if (!d.funded) return reject_or_degrade();
//   ... reserve d.cap, forward, settle ...
//   pacer.record_usage(d.cap, usage.completion_tokens);
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "core/surge_utility.h"
#include "gateway/pacing_policy.h"

namespace clearhouse::gateway {

struct PacerOptions {
  PacingPolicy policy = PacingPolicy::kClear;
  double alpha = 2.0;                 // paper utility; utility per token at the threshold, > 0
  double beta = 0.0;                  // per token; 0 = 1 / median of the recent predicted thresholds
  std::size_t window_queries = 512;   // recent queries the price is solved on, >= 1
  double expected_requests_per_window = 0.0;  // 0 = estimate from the arrival rate
  std::int64_t min_tokens = 1;        // a cap below this is an abandonment, >= 1
  std::int64_t max_tokens = 32768;    // caps never exceed this, >= min_tokens
  std::int64_t window_ms = 0;         // budget window length (0 = one window for all time); used
                                      // when a BudgetView carries no window end
  // clear: re-solve lambda at least every this many decisions (>= 1; 1 = every decision) ...
  std::size_t resolve_every = 16;
  // ... and whenever the ring budget ring_size * b / rho moved by more than this (relative, >= 0).
  double resolve_tolerance = 0.01;
};

// What the ledger says about the current budget window (ledger.h WindowTotals), passed per decision.
struct BudgetView {
  std::int64_t budget_tokens = 0;      // the window's budget
  std::int64_t remaining_tokens = 0;   // budget - spent - open reservations (>= 0)
  std::int64_t window_start_ms = 0;
  std::optional<std::int64_t> window_end_ms{};  // nullopt for an all-time window
};

struct PacerDecision {
  bool funded = false;          // false: abandoned (the gateway rejects or degrades)
  std::int64_t cap = 0;         // whole tokens in [min_tokens, max_tokens] when funded, else 0
  double tau_hat = 0.0;         // the predicted threshold used, tokens
  double lambda = 0.0;          // the shadow price used, utility per token (clear; else 0)
  double abandonment_price = 0.0;  // this query's (clear policy), utility per token
  double allowance_tokens = 0.0;   // planned tokens per request right now: b (caps may sum to b/rho)
};

struct PacerState {  // for /admin/state and /metrics
  double lambda = 0.0;
  double allowance_tokens = 0.0;             // b at the last decision
  double expected_remaining_requests = 0.0;  // R at the last decision
  double usage_ratio = 1.0;                  // rho
  double median_tau = 0.0;                   // of the ring, at the last solve (clear)
  double beta = 0.0;                         // used at the last solve (clear)
  std::size_t window_size = 0;               // thresholds in the ring
  std::uint64_t decisions = 0;
  std::uint64_t abandoned = 0;
  double arrival_rate_per_second = 0.0;      // 0 while unknown
};

class Pacer {
 public:
  // Invalid options: std::invalid_argument naming the option.
  explicit Pacer(PacerOptions options);

  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;

  // The cap for one arriving request with predicted threshold tau_hat (tokens, finite and > 0; else
  // std::invalid_argument) at time now_ms. A negative remaining_tokens reads as 0.
  PacerDecision decide(double tau_hat, std::int64_t now_ms, const BudgetView& budget);
  // Feedback after a request is settled: it was given `cap` and used `used_tokens`. Calls with
  // cap <= 0 are ignored; used_tokens is clamped to [0, cap].
  void record_usage(std::int64_t cap, std::int64_t used_tokens);

  [[nodiscard]] PacerState state() const;
  [[nodiscard]] const PacerOptions& options() const { return options_; }

 private:
  void push_arrival(double tau_hat, std::int64_t now_ms);
  [[nodiscard]] double expected_remaining_requests(std::int64_t now_ms, const BudgetView& budget);
  [[nodiscard]] double usage_ratio() const;
  void solve(double ring_budget);
  void decide_clear(double allowance, double tau_hat, PacerDecision& out);
  [[nodiscard]] double ring_mean_tau() const;

  const PacerOptions options_;
  mutable std::mutex mutex_;

  // The ring: slot next_ is written next (the oldest once the ring is full).
  std::vector<double> ring_tau_;
  std::vector<std::int64_t> ring_time_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
  double ring_tau_sum_ = 0.0;

  // Exponentially weighted sums of settled caps and used tokens.
  double cap_sum_ = 0.0;
  double used_sum_ = 0.0;

  // The last solve (clear).
  bool solved_ = false;
  double solved_budget_ = 0.0;
  std::size_t since_solve_ = 0;
  double lambda_ = 0.0;
  double root_ = 0.0;  // W0(lambda e / alpha)
  double beta_ = 0.0;
  double median_tau_ = 0.0;
  std::vector<double> tau_scratch_;
  std::vector<core::SurgeUtility> utilities_;

  // The current budget window and the counters.
  std::optional<std::int64_t> window_start_ms_;
  std::uint64_t window_decisions_ = 0;
  std::uint64_t decisions_ = 0;
  std::uint64_t abandoned_ = 0;
  double last_allowance_ = 0.0;
  double last_expected_remaining_ = 0.0;
  double arrival_rate_per_ms_ = 0.0;
};

}  // namespace clearhouse::gateway
