#include "gateway/pacer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "core/surge_utility.h"

namespace clearhouse::gateway {
namespace {

// The price band is at least this many typical caps (t*(0) of the median query) wide: with a small
// budget, one request's reservation must not swing the price from zero to alpha.
constexpr double kMinBandCaps = 16.0;
// Below the allowance line a request may take up to this fraction's inverse of the slack: a burst
// of concurrent requests leaves (1 - 1/16)^n of it, so about 16 of them use two thirds.
constexpr double kSlackShares = 16.0;
// The largest ring accepted (keeps a misconfigured window from allocating gigabytes).
constexpr std::size_t kMaxWindowQueries = std::size_t{1} << 22;
// The usage ratio reported never leaves this range.
constexpr double kMinUsageRatio = 0.05;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("pacer: " + message);
}

PacerOptions validated(PacerOptions o) {
  require(std::isfinite(o.alpha) && o.alpha > 0.0, "alpha must be finite and > 0");
  require(std::isfinite(o.beta) && o.beta >= 0.0, "beta must be finite and >= 0 (0 = calibrate)");
  require(o.window_queries >= 1 && o.window_queries <= kMaxWindowQueries,
          "window_queries must be in [1, " + std::to_string(kMaxWindowQueries) + "]");
  require(o.min_tokens >= 1, "min_tokens must be >= 1");
  require(o.max_tokens >= o.min_tokens, "max_tokens must be >= min_tokens");
  require(o.window_ms >= 0, "window_ms must be >= 0 (0 = one window for all time)");
  require(o.horizon_ms >= 0, "horizon_ms must be >= 0 (0 = no plan line for an all-time budget)");
  require(std::isfinite(o.headroom_share) && o.headroom_share >= 0.0 && o.headroom_share <= 1.0,
          "headroom_share must be in [0, 1]");
  require(
      std::isfinite(o.price_band_share) && o.price_band_share > 0.0 && o.price_band_share <= 1.0,
      "price_band_share must be in (0, 1]");
  require(o.calibrate_every >= 1, "calibrate_every must be >= 1");
  return o;
}

// Median of v (the mean of the two middle values for an even count), reordering v in place.
double median_in_place(std::vector<double>& v) {
  const auto mid = static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), v.begin() + mid, v.end());
  const double upper = v[static_cast<std::size_t>(mid)];
  if (v.size() % 2 == 1) return upper;
  return 0.5 * (*std::max_element(v.begin(), v.begin() + mid) + upper);
}

}  // namespace

Pacer::Pacer(PacerOptions options)
    : options_(validated(options)), ring_tau_(options_.window_queries, 0.0) {
  scratch_.reserve(options_.window_queries);
}

PacerDecision Pacer::decide(double tau_hat, std::int64_t now_ms, const BudgetView& budget) {
  if (!(std::isfinite(tau_hat) && tau_hat > 0.0)) {
    throw std::invalid_argument("pacer: tau_hat must be finite and > 0, got " +
                                std::to_string(tau_hat));
  }
  std::lock_guard lock(mutex_);
  push_threshold(tau_hat);

  const auto budget_tokens = static_cast<double>(std::max<std::int64_t>(0, budget.budget_tokens));
  const std::int64_t remaining = std::max<std::int64_t>(0, budget.remaining_tokens);
  const double committed = std::max(0.0, budget_tokens - static_cast<double>(remaining));
  const Line line = plan_line(now_ms, budget, committed);
  const double typical_cap = median_tau_ + 1.0 / beta_;
  const double band =
      std::max(options_.price_band_share * budget_tokens, kMinBandCaps * typical_cap);
  const double gap = committed - line.allowance;

  PacerDecision out;
  out.tau_hat = tau_hat;
  out.beta = beta_;
  out.pressure = std::max(0.0, gap) / band;
  out.slack_tokens = std::max(0.0, line.even - committed);
  out.plan_tokens = line.allowance;
  out.committed_tokens = committed;
  out.remaining_tokens = remaining;
  decide_cap(tau_hat, static_cast<double>(remaining), out);

  ++decisions_;
  if (!out.funded) ++abandoned_;
  last_.lambda = out.lambda;
  last_.pressure = out.pressure;
  last_.plan_tokens = line.allowance;
  last_.even_line_tokens = line.even;
  last_.committed_tokens = committed;
  last_.band_tokens = band;
  return out;
}

void Pacer::decide_cap(double tau_hat, double remaining, PacerDecision& out) const {
  const double squeeze = std::min(1.0, out.pressure);
  double cap = 0.0;
  bool funded = true;
  switch (options_.policy) {
    case PacingPolicy::kClear: {
      const core::SurgeUtility query{tau_hat, options_.alpha, beta_};
      out.lambda = options_.alpha * squeeze;
      out.abandonment_price = query.abandonment_price();
      const double root = core::lambert_w0(out.lambda * std::numbers::e / options_.alpha);
      out.cap_at_price = query.cap_given_root(std::min(root, 1.0));
      funded = out.lambda < out.abandonment_price;
      if (!funded) out.abandonment = Abandonment::kPrice;
      cap = funded ? std::floor(out.cap_at_price) : 0.0;
      break;
    }
    case PacingPolicy::kUniform:
      cap = std::floor((1.0 - squeeze) * (median_tau_ + 1.0 / beta_));
      break;
    case PacingPolicy::kPredictor:
      cap = std::floor((1.0 - squeeze) * (tau_hat + 1.0 / beta_));
      break;
  }
  // Below the allowance line, a share of the slack: plentiful budgets do not cut long answers.
  if (funded) cap = std::max(cap, std::floor(out.slack_tokens / kSlackShares));
  // Clamp in double first: a huge cap must not overflow the integer conversion.
  const auto max_tokens = static_cast<double>(options_.max_tokens);
  const bool cut_by_remaining = cap > remaining && remaining < max_tokens;
  cap = std::min({cap, max_tokens, remaining});
  const auto whole = static_cast<std::int64_t>(std::max(cap, 0.0));
  if (funded && whole < options_.min_tokens) {
    funded = false;
    out.abandonment =
        cut_by_remaining ? Abandonment::kCutByRemaining : Abandonment::kBelowMinTokens;
  }
  // A CLEAR cap that the remaining tokens cut to at most the threshold buys no chance of an answer.
  if (funded && options_.policy == PacingPolicy::kClear && cut_by_remaining &&
      static_cast<double>(whole) <= tau_hat) {
    funded = false;
    out.abandonment = Abandonment::kCutByRemaining;
  }
  out.funded = funded;
  out.cap = funded ? whole : 0;
}

Pacer::Line Pacer::plan_line(std::int64_t now_ms, const BudgetView& budget, double committed) {
  const auto b = static_cast<double>(std::max<std::int64_t>(0, budget.budget_tokens));
  if (window_start_ms_ != budget.window_start_ms) {
    window_start_ms_ = budget.window_start_ms;
    anchor_ms_ = now_ms;
    anchor_committed_ = committed;
  }
  std::optional<std::int64_t> end = budget.window_end_ms;
  if (!end && options_.window_ms > 0) end = budget.window_start_ms + options_.window_ms;
  double even = b;
  if (end) {
    const auto length = static_cast<double>(*end - budget.window_start_ms);
    const auto elapsed = static_cast<double>(now_ms - budget.window_start_ms);
    if (length > 0.0) even = b * std::clamp(elapsed / length, 0.0, 1.0);
  } else if (options_.horizon_ms > 0) {
    const auto elapsed = static_cast<double>(now_ms - anchor_ms_);
    const double from = std::min(anchor_committed_, b);
    even = from +
           (b - from) * std::clamp(elapsed / static_cast<double>(options_.horizon_ms), 0.0, 1.0);
  }
  return {even, even + options_.headroom_share * (b - even)};
}

void Pacer::push_threshold(double tau_hat) {
  const std::size_t capacity = options_.window_queries;
  ring_tau_[next_] = tau_hat;
  next_ = (next_ + 1) % capacity;
  size_ = std::min(size_ + 1, capacity);
  ++since_calibration_;
  // While the ring fills, every decision recalibrates (the first thresholds move the median most).
  if (size_ <= options_.calibrate_every || since_calibration_ >= options_.calibrate_every) {
    calibrate();
  }
}

void Pacer::calibrate() {
  since_calibration_ = 0;
  scratch_.assign(ring_tau_.begin(), ring_tau_.begin() + static_cast<std::ptrdiff_t>(size_));
  median_tau_ = median_in_place(scratch_);
  beta_ = options_.beta > 0.0 ? options_.beta : 1.0 / median_tau_;
}

double Pacer::largest_funded_tau(double lambda, double beta) const {
  if (!(lambda < options_.alpha) || !(beta > 0.0)) return 0.0;
  if (lambda <= 0.0) return std::numeric_limits<double>::infinity();
  // The abandonment price falls as tau grows: bisect on log tau between 1e-6 and 1e12 tokens.
  double lo = std::log(1e-6);
  double hi = std::log(1e12);
  const auto price = [&](double log_tau) {
    return core::SurgeUtility{std::exp(log_tau), options_.alpha, beta}.abandonment_price();
  };
  if (price(lo) <= lambda) return 0.0;
  if (price(hi) > lambda) return std::exp(hi);
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (price(mid) > lambda ? lo : hi) = mid;
  }
  return std::exp(lo);
}

void Pacer::record_usage(std::int64_t cap, std::int64_t used_tokens) {
  if (cap <= 0) return;
  const auto used = std::clamp<std::int64_t>(used_tokens, 0, cap);
  // Weight 1 - 1/window: the ratio remembers about as many settlements as the ring holds
  // thresholds.
  const double decay = 1.0 - 1.0 / static_cast<double>(options_.window_queries);
  std::lock_guard lock(mutex_);
  cap_sum_ = decay * cap_sum_ + static_cast<double>(cap);
  used_sum_ = decay * used_sum_ + static_cast<double>(used);
}

PacerState Pacer::state() const {
  std::lock_guard lock(mutex_);
  PacerState s = last_;
  s.usage_ratio = cap_sum_ > 0.0 ? std::clamp(used_sum_ / cap_sum_, kMinUsageRatio, 1.0) : 1.0;
  s.median_tau = median_tau_;
  s.beta = beta_;
  s.window_size = size_;
  s.decisions = decisions_;
  s.abandoned = abandoned_;
  return s;
}

}  // namespace clearhouse::gateway
