#include "tools/pacing_simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <numbers>
#include <queue>
#include <random>
#include <stdexcept>

#include "core/clear_allocation.h"
#include "core/utility_model.h"
#include "gateway/budget_view_cache.h"
#include "ledger/ledger.h"

namespace clearhouse::tools {
namespace {

constexpr std::int64_t kEpochStartMs = 1'800'000'000'000;  // some instant; windows align to it
constexpr double kBurstShare = 0.05;
constexpr double kCrowdShare = 0.20;
constexpr double kCrowdFrom = 0.40, kCrowdTo = 0.45;
constexpr double kDiurnalAmplitude = 0.8;
constexpr double kDiurnalWaves = 3.0;

struct Arrival {
  std::int64_t at_ms = 0;  // since the window's start
  RecordedAnswer answer;
};

// Arrival offsets in [0, window_ms) for n requests with the pattern's shape, ascending.
std::vector<std::int64_t> arrival_times(ArrivalPattern pattern, std::size_t n, double window_ms,
                                        std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> t;
  t.reserve(n);
  std::size_t steady = n;
  if (pattern == ArrivalPattern::kBurst) {
    const auto burst = std::max<std::size_t>(1, static_cast<std::size_t>(kBurstShare * double(n)));
    for (std::size_t i = 0; i < burst; ++i) t.push_back(static_cast<double>(i));
    steady = n - burst;
  } else if (pattern == ArrivalPattern::kFlashCrowd) {
    const auto crowd = static_cast<std::size_t>(kCrowdShare * double(n));
    for (std::size_t i = 0; i < crowd; ++i) {
      t.push_back(window_ms * (kCrowdFrom + (kCrowdTo - kCrowdFrom) * unit(rng)));
    }
    steady = n - crowd;
  }
  while (t.size() < n && steady > 0) {
    const double u = unit(rng);
    if (pattern == ArrivalPattern::kDiurnal) {
      // Rejection sampling from the density 1 + a sin(2 pi k u) (at most 1 + a).
      const double density =
          1.0 + kDiurnalAmplitude * std::sin(2.0 * std::numbers::pi * kDiurnalWaves * u);
      if (unit(rng) * (1.0 + kDiurnalAmplitude) > density) continue;
    }
    t.push_back(window_ms * u);
  }
  std::sort(t.begin(), t.end());
  std::vector<std::int64_t> out;
  out.reserve(t.size());
  for (const double v : t)
    out.push_back(std::min(static_cast<std::int64_t>(v), std::int64_t(window_ms) - 1));
  return out;
}

std::vector<Arrival> draw_arrivals(const PacingScenario& scenario,
                                   std::span<const RecordedAnswer> pool,
                                   const PacingSimOptions& o) {
  std::mt19937_64 rng(o.seed * 1'000'003 + static_cast<std::uint64_t>(scenario.pattern) * 7919 +
                      static_cast<std::uint64_t>(std::llround(scenario.demand_multiple * 1000.0)));
  const std::size_t n = scenario.pattern == ArrivalPattern::kTrickle
                            ? std::max<std::size_t>(1, o.requests / 10)
                            : o.requests;
  const auto times = arrival_times(scenario.pattern, n, double(o.window_seconds) * 1000.0, rng);
  std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
  std::vector<Arrival> out;
  out.reserve(times.size());
  for (const std::int64_t at : times) out.push_back({at, pool[pick(rng)]});
  return out;
}

std::size_t offline_clear_solved(const std::vector<Arrival>& arrivals, std::int64_t budget,
                                 double alpha) {
  std::vector<double> tau;
  tau.reserve(arrivals.size());
  for (const Arrival& a : arrivals) tau.push_back(a.answer.tau_hat);
  const auto utilities = core::build_utilities(tau, core::UtilityModel{.alpha = alpha});
  const core::ClearPlan plan = core::allocate_clear(utilities, budget);
  std::size_t solved = 0;
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    const RecordedAnswer& a = arrivals[i].answer;
    if (a.correct && a.length <= plan.caps[i]) ++solved;
  }
  return solved;
}

void validate(std::span<const RecordedAnswer> pool, const PacingScenario& s,
              const PacingSimOptions& o) {
  if (pool.empty()) throw std::invalid_argument("pacing simulator: the answer pool is empty");
  for (const RecordedAnswer& a : pool) {
    if (!(a.tau_hat > 0.0) || a.length <= 0) {
      throw std::invalid_argument("pacing simulator: answers need tau_hat > 0 and length > 0");
    }
  }
  if (!(s.demand_multiple > 0.0) || !std::isfinite(s.demand_multiple)) {
    throw std::invalid_argument("pacing simulator: demand_multiple must be > 0");
  }
  if (o.requests < 10) throw std::invalid_argument("pacing simulator: requests must be >= 10");
  if (o.window_seconds < 1) throw std::invalid_argument("pacing simulator: window_seconds >= 1");
  if (o.base_latency_seconds < 0.0 || o.seconds_per_token < 0.0) {
    throw std::invalid_argument("pacing simulator: latencies must be >= 0");
  }
}

// One window of traffic against a live ledger: the gateway's completion path without HTTP.
class WindowRun {
 public:
  WindowRun(const PacingSimOptions& o, const std::string& ledger_path, std::int64_t budget,
            std::int64_t start_ms)
      : o_(o),
        clock_(start_ms),
        ledger_(ledger::Ledger::open(ledger_path, clock_)),
        cache_(ledger_),
        pacer_(pacer_options(o)),
        start_ms_(start_ms),
        budget_(budget) {
    ledger_.configure_budget({.window_seconds = o.window_seconds, .global_tokens = budget});
  }

  void serve(const Arrival& a, PacingOutcome& out) {
    const std::int64_t now = start_ms_ + a.at_ms;
    settle_until(now);
    clock_.set_ms(now);
    const gateway::BudgetView view = cache_.get(now);
    const std::int64_t min_tokens = o_.pacer.min_tokens;
    if (view.remaining_tokens < min_tokens) {
      ++out.budget_refused;
      return trace(a.at_ms, 0.0, out);
    }
    const gateway::PacerDecision d = pacer_.decide(a.answer.tau_hat, now, view);
    trace(a.at_ms, d.lambda, out);
    if (!d.funded) {
      ++out.abandoned;
      return;
    }
    std::int64_t cap = d.cap;
    const std::string id = fmt::format("sim-{}", ++ids_);
    ledger::ReserveResult r = ledger_.reserve(id, "sim", "replay", cap);
    if (r.status == ledger::ReserveStatus::kOverGlobalBudget) {
      const std::int64_t fit = r.global_remaining.value_or(0);
      if (fit >= min_tokens && fit < cap) {
        cap = fit;
        r = ledger_.reserve(id, "sim", "replay", cap);
      }
    }
    cache_.observe(r, now);
    if (r.status != ledger::ReserveStatus::kReserved) {
      ++out.budget_refused;
      return;
    }
    ++out.served;
    const std::int64_t used = std::min(cap, a.answer.length);
    if (a.answer.correct && cap >= a.answer.length) ++out.solved;
    const auto need =
        std::min(static_cast<std::int64_t>(std::floor(a.answer.tau_hat)), o_.pacer.max_tokens);
    if (cap < need) ++out.capped_below_need;
    reserved_ += cap;
    out.max_committed = std::max(out.max_committed, spent_ + reserved_);
    const double seconds = o_.base_latency_seconds + double(used) * o_.seconds_per_token;
    open_.push({now + static_cast<std::int64_t>(std::ceil(seconds * 1000.0)), id, cap, used});
  }

  void finish(PacingOutcome& out) {
    settle_until(std::numeric_limits<std::int64_t>::max());
    out.spent = spent_;
    const std::int64_t recorded = ledger_.totals().overall.spent_tokens;
    if (recorded != spent_) {
      throw std::logic_error(
          fmt::format("pacing simulator: the ledger recorded {} spent tokens, "
                      "the simulation {}",
                      recorded, spent_));
    }
  }

 private:
  struct Open {
    std::int64_t done_ms;
    std::string id;
    std::int64_t cap;
    std::int64_t used;
    bool operator>(const Open& other) const { return done_ms > other.done_ms; }
  };

  static gateway::PacerOptions pacer_options(const PacingSimOptions& o) {
    gateway::PacerOptions p = o.pacer;
    p.window_ms = o.window_seconds * 1000;
    return p;
  }

  void settle_until(std::int64_t now) {
    while (!open_.empty() && open_.top().done_ms <= now) {
      const Open done = open_.top();
      open_.pop();
      clock_.set_ms(done.done_ms);
      (void)ledger_.settle(done.id, done.used, 0.0);
      pacer_.record_usage(done.cap, done.used);
      reserved_ -= done.cap;
      spent_ += done.used;
    }
  }

  void trace(std::int64_t at_ms, double lambda, PacingOutcome& out) {
    const double seconds = double(at_ms) / 1000.0;
    const double window = double(o_.window_seconds);
    const auto points = static_cast<double>(std::max<std::size_t>(1, o_.trace_points));
    if (!out.trace.empty() && seconds < out.trace.back().seconds + window / points) return;
    const double b = static_cast<double>(budget_);
    const double even = b * std::clamp(seconds / window, 0.0, 1.0);
    out.trace.push_back({seconds, static_cast<double>(spent_ + reserved_), even,
                         even + o_.pacer.headroom_share * (b - even), lambda});
  }

  const PacingSimOptions& o_;
  base::ManualClock clock_;
  ledger::Ledger ledger_;
  gateway::BudgetViewCache cache_;
  gateway::Pacer pacer_;
  const std::int64_t start_ms_;
  const std::int64_t budget_;
  std::priority_queue<Open, std::vector<Open>, std::greater<>> open_;
  std::uint64_t ids_ = 0;
  std::int64_t reserved_ = 0;
  std::int64_t spent_ = 0;
};

}  // namespace

std::string_view to_string(ArrivalPattern pattern) {
  switch (pattern) {
    case ArrivalPattern::kSteady: return "steady";
    case ArrivalPattern::kBurst: return "burst";
    case ArrivalPattern::kDiurnal: return "diurnal";
    case ArrivalPattern::kFlashCrowd: return "flash-crowd";
    case ArrivalPattern::kTrickle: return "trickle";
  }
  return "steady";
}

std::optional<ArrivalPattern> parse_arrival_pattern(std::string_view name) {
  for (const ArrivalPattern p :
       {ArrivalPattern::kSteady, ArrivalPattern::kBurst, ArrivalPattern::kDiurnal,
        ArrivalPattern::kFlashCrowd, ArrivalPattern::kTrickle}) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

std::string PacingScenario::name() const {
  return fmt::format("{}-{:g}x", to_string(pattern), demand_multiple);
}

double PacingOutcome::utilization() const {
  return budget > 0 ? static_cast<double>(spent) / static_cast<double>(budget) : 0.0;
}
double PacingOutcome::abandonment_rate() const {
  return requests > 0 ? double(abandoned + budget_refused) / double(requests) : 0.0;
}
double PacingOutcome::accuracy() const {
  return requests > 0 ? double(solved) / double(requests) : 0.0;
}
double PacingOutcome::offline_accuracy() const {
  return requests > 0 ? double(offline_solved) / double(requests) : 0.0;
}
double PacingOutcome::accuracy_ratio() const {
  if (offline_solved == 0) return solved == 0 ? 1.0 : std::numeric_limits<double>::infinity();
  return double(solved) / double(offline_solved);
}

PacingOutcome simulate_pacing(const PacingScenario& scenario, std::span<const RecordedAnswer> pool,
                              const PacingSimOptions& options) {
  validate(pool, scenario, options);
  const std::vector<Arrival> arrivals = draw_arrivals(scenario, pool, options);
  PacingOutcome out;
  out.scenario = scenario;
  out.requests = arrivals.size();
  for (const Arrival& a : arrivals) out.demand_tokens += a.answer.length;
  out.budget = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(out.demand_tokens) / scenario.demand_multiple));

  const std::int64_t window_ms = options.window_seconds * 1000;
  const std::int64_t start_ms = (kEpochStartMs + window_ms - 1) / window_ms * window_ms;
  const std::filesystem::path dir =
      std::filesystem::path(options.ledger_dir) / fmt::format("pacing-{}", scenario.name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    WindowRun run(options, (dir / "ledger.db").string(), out.budget, start_ms);
    for (const Arrival& a : arrivals) run.serve(a, out);
    run.finish(out);
  }
  std::filesystem::remove_all(dir);
  out.overshoot =
      std::max<std::int64_t>({0, out.max_committed - out.budget, out.spent - out.budget});
  out.offline_solved = offline_clear_solved(arrivals, out.budget, options.pacer.alpha);
  return out;
}

}  // namespace clearhouse::tools
