// The online pacer: the token cap of each arriving request, set at once, so that committed spend
// follows the budget's plan line. It never forecasts arrivals: the shadow price comes from where
// spend stands against a line that is known in advance, so no estimate of the traffic can starve
// it.
//
// The plan line. A timed window [start, end) of budget B has the even line P(t) = B (t - start) /
// (end - start). An all-time budget has no end: with horizon H > 0 the line spreads what was left
// at the pacer's first decision (committed c0) over the next H, P(t) = c0 + (B - c0) min(1, (t -
// t0) / H); with H = 0 there is no line (P = B: the budget is spent as it is asked for). The
// allowance line adds a burst headroom, a share h of what the even line has not reached yet:
//   A(t) = P(t) + h (B - P(t))          (h B at the window's start, B at its end)
// so a fresh window can serve a first burst of up to h B at once, and the headroom is used up by
// the end, when A = B.
//
// The price. committed = spent + open reservations = B - remaining (the ledger's view). The gap
// g = committed - A(t) sets the pressure x = max(0, g) / band, band = max(price_band_share B,
// 16 typical caps), and
//   clear      lambda = alpha min(1, x)   (utility per token; at alpha every query is abandoned).
//              Funded iff lambda < the request's abandonment price; cap = floor(t*(lambda)).
//              At or below the allowance line lambda = 0 and every request gets t*(0) = tau +
//              1/beta, at least its predicted need: nothing is abandoned.
// The slack. Below the allowance line (g < 0) a funded request's cap is raised to a share of the
// slack, max(cap, -g / 16): while the budget is plentiful an answer longer than t*(0) is not cut
// (an answer cut at its cap is wrong, and its tokens are wasted). Each reservation takes its cap
// out of the slack, so a burst's caps shrink geometrically back to t*(0) before the line is
// reached.
//   uniform    cap = floor((1 - min(1, x)) (m + 1/beta)), m the ring's median threshold.
//   predictor  cap = floor((1 - min(1, x)) (tau + 1/beta)).
// This is dual descent on lambda with a time-based target: the subgradient steps
// lambda += eta (cap_k - (A(t_k) - A(t_{k-1}))) of Balseiro, Lu & Mirrokni's dual mirror descent,
// summed in closed form, give lambda = eta (committed - A(t)); released reservations enter through
// `committed`, so there is no state to wind up, and a restart resumes from the ledger's figures.
// Under sustained over-demand the price settles where the funded spend rate matches the line's, a
// small fraction of the band above the allowance line; the window ends with its budget spent.
//
// The shape. beta = 1 / median of the ring of the last `window_queries` predicted thresholds
// (unless set), recomputed every `calibrate_every` decisions; alpha is the paper utility's (2.0).
//
// The clamp. Caps are clamped to max_tokens and to the remaining tokens (a larger cap could never
// be reserved); below min_tokens the request is abandoned; under clear, also when the remaining
// tokens cut the cap to at most tau_hat (it would stop before any chance of a right answer). The
// gateway's ledger reservation is what guarantees zero overshoot when requests race for the last
// tokens.
//
// Units: tokens (whole for caps), milliseconds for times, utility per token for prices (alpha's
// unit). Pure logic: no I/O, no clock (time is passed in), no randomness. Cost per decision: O(1),
// plus an O(window_queries) median every `calibrate_every` decisions. Thread-safety: decide(),
// record_usage() and state() may be called concurrently (one mutex).
//
// Example:
//   Pacer pacer({.policy = PacingPolicy::kClear});
//   const BudgetView view = budget_view_cache.get(clock.now_ms());
//   PacerDecision d = pacer.decide(tau_hat, clock.now_ms(), view);
//   if (!d.funded) return refuse_or_degrade(d);
//   ... reserve d.cap, forward, settle ...
//   pacer.record_usage(d.cap, usage.completion_tokens);
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "gateway/pacing_policy.h"

namespace clearhouse::gateway {

struct PacerOptions {
  PacingPolicy policy = PacingPolicy::kClear;
  double alpha = 2.0;                // paper utility; utility per token at the threshold, > 0
  double beta = 0.0;                 // per token; 0 = 1 / median of the recent predicted thresholds
  std::size_t window_queries = 512;  // recent thresholds beta is calibrated on, >= 1
  std::int64_t min_tokens = 1;       // a cap below this is an abandonment, >= 1
  std::int64_t max_tokens = 32768;   // caps never exceed this, >= min_tokens
  std::int64_t window_ms = 0;        // budget window length, used when a BudgetView carries no end
                                     // (0 = one window for all time)
  std::int64_t horizon_ms = 0;       // all-time budget: spread over this (0 = no plan line), >= 0
  double headroom_share = 0.1;     // h: share of the budget that may run ahead of the line, [0, 1]
  double price_band_share = 0.05;  // the gap (share of the budget) at which lambda reaches alpha,
                                   // (0, 1]
  std::size_t calibrate_every = 16;  // decisions between two medians of the ring, >= 1
};

// What the ledger says about the current budget window (ledger.h WindowTotals), passed per
// decision.
struct BudgetView {
  std::int64_t budget_tokens = 0;     // the window's budget
  std::int64_t remaining_tokens = 0;  // budget - spent - open reservations (>= 0)
  std::int64_t window_start_ms = 0;
  std::optional<std::int64_t> window_end_ms{};  // nullopt for an all-time window
};

// Why a request was not funded.
enum class Abandonment {
  kNone,            // funded
  kPrice,           // clear: lambda >= its abandonment price
  kCutByRemaining,  // the remaining tokens cut its cap to at most tau_hat (clear) or below min
  kBelowMinTokens,  // uniform / predictor: the paced cap fell below min_tokens
};

struct PacerDecision {
  bool funded = false;   // false: abandoned (the gateway refuses or degrades)
  std::int64_t cap = 0;  // whole tokens in [min_tokens, max_tokens] when funded, else 0
  Abandonment abandonment = Abandonment::kNone;
  double tau_hat = 0.0;            // the predicted threshold used, tokens
  double lambda = 0.0;             // the shadow price, utility per token (clear; else 0)
  double abandonment_price = 0.0;  // this query's (clear), utility per token
  double cap_at_price = 0.0;       // t*(lambda) for this query before any clamp (clear), tokens
  double beta = 0.0;               // the utility's decay in use, per token
  double pressure = 0.0;           // max(0, committed - allowance line) / band, >= 0
  double slack_tokens = 0.0;       // max(0, allowance line - committed), tokens
  double plan_tokens = 0.0;        // the allowance line A(now), tokens
  double committed_tokens = 0.0;   // budget - remaining, tokens
  std::int64_t remaining_tokens = 0;
};

struct PacerState {     // for /admin/state and /metrics
  double lambda = 0.0;  // at the last decision
  double pressure = 0.0;
  double plan_tokens = 0.0;       // allowance line A at the last decision
  double even_line_tokens = 0.0;  // P at the last decision
  double committed_tokens = 0.0;
  double band_tokens = 0.0;
  double usage_ratio = 1.0;     // recent used / recent caps (reported, not used to decide)
  double median_tau = 0.0;      // of the ring, at the last calibration
  double beta = 0.0;            // in use
  std::size_t window_size = 0;  // thresholds in the ring
  std::uint64_t decisions = 0;
  std::uint64_t abandoned = 0;
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
  // Feedback after a request is settled: it was given `cap` and used `used_tokens` (reported in
  // state().usage_ratio). Calls with cap <= 0 are ignored; used_tokens is clamped to [0, cap].
  void record_usage(std::int64_t cap, std::int64_t used_tokens);

  [[nodiscard]] PacerState state() const;
  [[nodiscard]] const PacerOptions& options() const { return options_; }

  // The largest predicted threshold (tokens) a clear request is funded for at price lambda under
  // this pacer's alpha and the given beta; 0 when none is (lambda >= alpha). For refusal messages.
  [[nodiscard]] double largest_funded_tau(double lambda, double beta) const;

 private:
  struct Line {
    double even = 0.0;       // P(now)
    double allowance = 0.0;  // A(now)
  };
  void push_threshold(double tau_hat);
  void calibrate();
  [[nodiscard]] Line plan_line(std::int64_t now_ms, const BudgetView& budget, double committed);
  void decide_cap(double tau_hat, double remaining, PacerDecision& out) const;

  const PacerOptions options_;
  mutable std::mutex mutex_;

  // The ring of recent thresholds: slot next_ is written next (the oldest once the ring is full).
  std::vector<double> ring_tau_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
  std::size_t since_calibration_ = 0;
  std::vector<double> scratch_;
  double median_tau_ = 0.0;
  double beta_ = 0.0;

  // The all-time line's anchor (first decision of the window) and the window it belongs to.
  std::optional<std::int64_t> window_start_ms_;
  std::int64_t anchor_ms_ = 0;
  double anchor_committed_ = 0.0;

  // Exponentially weighted sums of settled caps and used tokens.
  double cap_sum_ = 0.0;
  double used_sum_ = 0.0;

  std::uint64_t decisions_ = 0;
  std::uint64_t abandoned_ = 0;
  PacerState last_;
};

}  // namespace clearhouse::gateway
