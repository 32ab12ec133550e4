// The pacing simulator behind `clearhouse bench-pacer`: plays one budget window of simulated
// traffic through the real gateway::Pacer and the real Ledger (a temporary ledger file, a
// ManualClock), the way the gateway's completion path uses them, and scores it against offline
// CLEAR with hindsight.
//
// Per request, in time order: settle every request whose upstream call has finished (used =
// min(cap, true length), fed back to the pacer), read the budget through a
// gateway::BudgetViewCache, refuse with budget_exhausted if not even min_tokens is left, ask the
// pacer, reserve the cap (and, as the gateway does, reserve what is left instead when a race took
// the rest and it is worth sending). A served request lasts base_latency + used *
// seconds_per_token. A request is solved when its cap covers its recorded answer's length and that
// answer was right.
//
// Traffic: `requests` answers drawn with replacement from the pool (a tenth of them for the
// trickle), arriving over the window with the pattern's shape:
//   steady         Poisson (uniform arrival times)
//   burst          the first 5% back to back (1 ms apart) at the window's start, the rest steady
//   diurnal        three waves, rate proportional to 1 + 0.8 sin(2 pi 3 t / window)
//   flash-crowd    80% steady, 20% within [0.40, 0.45) of the window (5x the rate for 5% of it)
//   trickle        a tenth of the requests, steady
// The budget is the demand (sum of the drawn answers' true lengths) divided by demand_multiple.
//
// Offline CLEAR with hindsight: core::allocate_clear (paper utility, alpha of the pacer, beta = 1 /
// median tau_hat of the window's arrivals) on every arrival at once with the same budget; a query
// succeeds iff its answer is right and its length <= its cap.
//
// Units: tokens; seconds of simulated time. Deterministic for a seed. Thread-compatible (one call
// per thread; each call uses its own ledger file under ledger_dir, removed at the end). Throws
// LedgerError when the ledger cannot be created there, std::invalid_argument for an empty pool or
// invalid options.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/pacer.h"

namespace clearhouse::tools {

struct RecordedAnswer {
  double tau_hat = 1.0;     // the predictor's threshold, tokens (what the pacer sees)
  std::int64_t length = 1;  // the recorded answer's length, tokens (> 0)
  bool correct = false;     // the recorded answer was graded right
};

enum class ArrivalPattern { kSteady, kBurst, kDiurnal, kFlashCrowd, kTrickle };
[[nodiscard]] std::string_view to_string(ArrivalPattern pattern);
[[nodiscard]] std::optional<ArrivalPattern> parse_arrival_pattern(std::string_view name);

struct PacingScenario {
  ArrivalPattern pattern = ArrivalPattern::kSteady;
  double demand_multiple = 1.0;            // demand / budget, > 0
  [[nodiscard]] std::string name() const;  // e.g. "steady-3x"
};

struct PacingSimOptions {
  std::size_t requests = 2000;         // per window (the trickle takes a tenth), >= 10
  std::int64_t window_seconds = 3600;  // >= 1
  std::uint64_t seed = 1;
  double base_latency_seconds = 0.2;  // upstream time of a request before its first token
  double seconds_per_token = 0.02;    // upstream generation speed
  gateway::PacerOptions pacer;        // window_ms is set from window_seconds
  std::string ledger_dir;             // temporary ledgers go here (must exist)
  std::size_t trace_points = 240;     // samples of the spend trajectory
};

struct TracePoint {
  double seconds = 0.0;           // since the window's start
  double committed_tokens = 0.0;  // spent + reserved
  double even_line_tokens = 0.0;  // B * elapsed / window
  double allowance_tokens = 0.0;  // the pacer's allowance line (with headroom)
  double lambda = 0.0;            // the shadow price at the last decision
};

struct PacingOutcome {
  PacingScenario scenario;
  std::size_t requests = 0;
  std::int64_t budget = 0;
  std::int64_t demand_tokens = 0;  // sum of the arrivals' true lengths
  std::int64_t spent = 0;          // settled usage at the end
  std::int64_t max_committed = 0;  // the largest spent + reserved seen
  std::int64_t overshoot = 0;      // max(0, max_committed - budget, spent - budget)
  std::size_t served = 0;
  std::size_t abandoned = 0;          // the pacer refused (query_abandoned)
  std::size_t budget_refused = 0;     // nothing left to reserve (budget_exhausted)
  std::size_t capped_below_need = 0;  // served with cap < min(floor(tau_hat), max_tokens)
  std::size_t solved = 0;
  std::size_t offline_solved = 0;
  std::vector<TracePoint> trace;

  [[nodiscard]] double utilization() const;       // spent / budget
  [[nodiscard]] double abandonment_rate() const;  // (abandoned + budget_refused) / requests
  [[nodiscard]] double accuracy() const;          // solved / requests
  [[nodiscard]] double offline_accuracy() const;  // offline_solved / requests
  [[nodiscard]] double accuracy_ratio() const;    // accuracy / offline accuracy (1 if both 0)
};

[[nodiscard]] PacingOutcome simulate_pacing(const PacingScenario& scenario,
                                            std::span<const RecordedAnswer> pool,
                                            const PacingSimOptions& options);

}  // namespace clearhouse::tools
