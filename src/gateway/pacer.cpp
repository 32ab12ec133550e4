#include "gateway/pacer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "core/shadow_price.h"

namespace clearhouse::gateway {
namespace {

// The usage ratio never leaves this range: below it one unlucky streak of short answers would let
// the plan hand out twenty times the allowance in caps.
constexpr double kMinUsageRatio = 0.05;
constexpr double kMaxUsageRatio = 1.0;
// The largest ring accepted (keeps a misconfigured window from allocating gigabytes).
constexpr std::size_t kMaxWindowQueries = std::size_t{1} << 22;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument("pacer: " + message);
}

PacerOptions validated(PacerOptions o) {
  require(std::isfinite(o.alpha) && o.alpha > 0.0, "alpha must be finite and > 0");
  require(std::isfinite(o.beta) && o.beta >= 0.0, "beta must be finite and >= 0 (0 = calibrate)");
  require(o.window_queries >= 1 && o.window_queries <= kMaxWindowQueries,
          "window_queries must be in [1, " + std::to_string(kMaxWindowQueries) + "]");
  require(std::isfinite(o.expected_requests_per_window) && o.expected_requests_per_window >= 0.0,
          "expected_requests_per_window must be finite and >= 0 (0 = estimate)");
  require(o.min_tokens >= 1, "min_tokens must be >= 1");
  require(o.max_tokens >= o.min_tokens, "max_tokens must be >= min_tokens");
  require(o.window_ms >= 0, "window_ms must be >= 0 (0 = one window for all time)");
  require(o.resolve_every >= 1, "resolve_every must be >= 1");
  require(std::isfinite(o.resolve_tolerance) && o.resolve_tolerance >= 0.0,
          "resolve_tolerance must be finite and >= 0");
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
    : options_(validated(options)),
      ring_tau_(options_.window_queries, 0.0),
      ring_time_(options_.window_queries, 0) {
  tau_scratch_.reserve(options_.window_queries);
  utilities_.reserve(options_.window_queries);
}

PacerDecision Pacer::decide(double tau_hat, std::int64_t now_ms, const BudgetView& budget) {
  if (!(std::isfinite(tau_hat) && tau_hat > 0.0)) {
    throw std::invalid_argument("pacer: tau_hat must be finite and > 0, got " +
                                std::to_string(tau_hat));
  }
  std::lock_guard lock(mutex_);
  if (window_start_ms_ != budget.window_start_ms) {
    window_start_ms_ = budget.window_start_ms;
    window_decisions_ = 0;
  }
  push_arrival(tau_hat, now_ms);

  const auto remaining = std::max<std::int64_t>(0, budget.remaining_tokens);
  const double expected = expected_remaining_requests(now_ms, budget);
  const double allowance = static_cast<double>(remaining) / expected;
  const double plan_per_request = allowance / usage_ratio();
  ++decisions_;
  ++window_decisions_;
  last_allowance_ = allowance;
  last_expected_remaining_ = expected;

  PacerDecision out;
  out.tau_hat = tau_hat;
  out.allowance_tokens = allowance;
  double cap = 0.0;
  bool funded = true;
  switch (options_.policy) {
    case PacingPolicy::kClear:
      decide_clear(plan_per_request, tau_hat, out);
      funded = out.funded;
      cap = funded ? std::floor(core::SurgeUtility{tau_hat, options_.alpha, beta_}
                                    .cap_given_root(root_))
                   : 0.0;
      break;
    case PacingPolicy::kUniform:
      cap = std::floor(plan_per_request);
      break;
    case PacingPolicy::kPredictor:
      cap = std::floor(plan_per_request * tau_hat / ring_mean_tau());
      break;
  }
  // Clamp in double first: a huge plan must not overflow the integer conversion.
  const bool cut_by_remaining =
      cap > static_cast<double>(remaining) && remaining < options_.max_tokens;
  cap = std::min(cap, static_cast<double>(std::min(options_.max_tokens, remaining)));
  auto whole = static_cast<std::int64_t>(std::max(cap, 0.0));
  if (whole < options_.min_tokens) funded = false;
  // A CLEAR cap that the remaining tokens cut to at most the threshold buys no chance of an answer.
  if (options_.policy == PacingPolicy::kClear && cut_by_remaining &&
      static_cast<double>(whole) <= tau_hat) {
    funded = false;
  }
  out.funded = funded;
  out.cap = funded ? whole : 0;
  if (!funded) ++abandoned_;
  return out;
}

void Pacer::decide_clear(double plan_per_request, double tau_hat, PacerDecision& out) {
  const double ring_budget = static_cast<double>(size_) * plan_per_request;
  const bool moved = std::abs(ring_budget - solved_budget_) >
                     options_.resolve_tolerance * solved_budget_;
  ++since_solve_;
  if (!solved_ || moved || since_solve_ >= options_.resolve_every) solve(ring_budget);
  const core::SurgeUtility query{tau_hat, options_.alpha, beta_};
  out.lambda = lambda_;
  out.abandonment_price = query.abandonment_price();
  out.funded = lambda_ < out.abandonment_price;
}

void Pacer::solve(double ring_budget) {
  solved_ = true;
  since_solve_ = 0;
  solved_budget_ = ring_budget;
  tau_scratch_.assign(ring_tau_.begin(), ring_tau_.begin() + static_cast<std::ptrdiff_t>(size_));
  median_tau_ = median_in_place(tau_scratch_);
  beta_ = options_.beta > 0.0 ? options_.beta : 1.0 / median_tau_;
  if (!(ring_budget > 0.0)) {
    // Nothing to spend: no price below alpha funds anything (abandonment prices are below alpha).
    lambda_ = options_.alpha;
    root_ = 1.0;
    return;
  }
  utilities_.clear();
  for (const double tau : tau_scratch_) utilities_.push_back({tau, options_.alpha, beta_});
  const core::ShadowPrice price = core::solve_shadow_price_exact(utilities_, ring_budget, true);
  lambda_ = price.lambda;
  root_ = core::lambert_w0(lambda_ * std::numbers::e / options_.alpha);
}

void Pacer::push_arrival(double tau_hat, std::int64_t now_ms) {
  const std::size_t capacity = options_.window_queries;
  if (size_ == capacity) ring_tau_sum_ -= ring_tau_[next_];
  ring_tau_[next_] = tau_hat;
  ring_time_[next_] = now_ms;
  ring_tau_sum_ += tau_hat;
  next_ = (next_ + 1) % capacity;
  size_ = std::min(size_ + 1, capacity);
  // Once per lap, re-add from scratch so rounding from the running add/subtract never accumulates.
  if (next_ == 0) {
    ring_tau_sum_ = 0.0;
    for (const double tau : ring_tau_) ring_tau_sum_ += tau;
  }
  const std::int64_t oldest = size_ < capacity ? ring_time_[0] : ring_time_[next_];
  const std::int64_t span_ms = now_ms - oldest;
  arrival_rate_per_ms_ =
      size_ >= 2 && span_ms > 0 ? static_cast<double>(size_ - 1) / static_cast<double>(span_ms)
                                : 0.0;
}

double Pacer::expected_remaining_requests(std::int64_t now_ms, const BudgetView& budget) {
  std::optional<std::int64_t> end = budget.window_end_ms;
  if (!end && options_.window_ms > 0) end = budget.window_start_ms + options_.window_ms;
  const double fallback = static_cast<double>(options_.window_queries);
  const double e = options_.expected_requests_per_window;
  if (e > 0.0) {
    if (!end) return std::max(1.0, e - static_cast<double>(window_decisions_));
    const auto length = static_cast<double>(*end - budget.window_start_ms);
    if (!(length > 0.0)) return 1.0;
    const auto left = static_cast<double>(std::max<std::int64_t>(0, *end - now_ms));
    return std::max(1.0, e * left / length);
  }
  if (!end || arrival_rate_per_ms_ <= 0.0) return fallback;
  const auto left = static_cast<double>(std::max<std::int64_t>(0, *end - now_ms));
  return 1.0 + arrival_rate_per_ms_ * left;
}

double Pacer::usage_ratio() const {
  if (!(cap_sum_ > 0.0)) return 1.0;
  return std::clamp(used_sum_ / cap_sum_, kMinUsageRatio, kMaxUsageRatio);
}

double Pacer::ring_mean_tau() const {
  // size_ >= 1 here: decide() pushes before it asks.
  return std::max(ring_tau_sum_ / static_cast<double>(size_), std::numeric_limits<double>::min());
}

void Pacer::record_usage(std::int64_t cap, std::int64_t used_tokens) {
  if (cap <= 0) return;
  const auto used = std::clamp<std::int64_t>(used_tokens, 0, cap);
  // Weight 1 - 1/window: the ratio remembers about as many settlements as the ring holds decisions.
  const double decay = 1.0 - 1.0 / static_cast<double>(options_.window_queries);
  std::lock_guard lock(mutex_);
  cap_sum_ = decay * cap_sum_ + static_cast<double>(cap);
  used_sum_ = decay * used_sum_ + static_cast<double>(used);
}

PacerState Pacer::state() const {
  std::lock_guard lock(mutex_);
  PacerState s;
  s.lambda = lambda_;
  s.allowance_tokens = last_allowance_;
  s.expected_remaining_requests = last_expected_remaining_;
  s.usage_ratio = usage_ratio();
  s.median_tau = median_tau_;
  s.beta = beta_;
  s.window_size = size_;
  s.decisions = decisions_;
  s.abandoned = abandoned_;
  s.arrival_rate_per_second = arrival_rate_per_ms_ * 1000.0;
  return s;
}

}  // namespace clearhouse::gateway
