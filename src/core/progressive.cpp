#include "core/progressive.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numbers>

namespace clearhouse::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ln P(Z > z) for a standard normal Z. erfc is exact to double precision until it nears underflow;
// beyond z = 30 the asymptotic (Mills ratio) series is used, whose next term is below 2e-8.
double log_upper_tail(double z) {
  if (z == -kInf) return 0.0;
  if (z < 30.0) return std::log(0.5 * std::erfc(z / std::numbers::sqrt2));
  const double z2 = z * z;
  return -0.5 * z2 - std::log(z) - 0.5 * std::log(2.0 * std::numbers::pi) +
         std::log1p(-1.0 / z2 + 3.0 / (z2 * z2));
}

// The prior conditioned on d > generated, with what every slice shares computed once.
class Conditioned {
 public:
  Conditioned(const LengthPrior& prior, std::int64_t generated)
      : mu_(prior.log_mu),
        sigma_(prior.log_sigma),
        a_(static_cast<double>(generated)),
        log_tail_a_(log_upper_tail(z(a_))),
        // e^{mu + sigma^2/2} Q(z_a - sigma) / Q(z_a) = E[d | d > a]
        mean_beyond_a_(
            std::exp(mu_ + 0.5 * sigma_ * sigma_ + log_upper_tail(z(a_) - sigma_) - log_tail_a_)) {
    assert(prior.log_sigma > 0.0 && generated >= 0);
  }

  [[nodiscard]] double log_tail_a() const { return log_tail_a_; }

  // false when d > generated has probability 0 in double precision.
  [[nodiscard]] bool possible() const { return std::isfinite(log_tail_a_); }

  // S(b) / S(a) for b = a + slice.
  [[nodiscard]] double survival_ratio(double b) const {
    return std::exp(log_upper_tail(z(b)) - log_tail_a_);
  }

  // P(d <= b | d > a): -expm1 keeps precision when the ratio is near 1.
  [[nodiscard]] double completion(double b) const {
    return -std::expm1(log_upper_tail(z(b)) - log_tail_a_);
  }

  // E[min(d - a, b - a) | d > a] = (E[min(d, b)] - E[min(d, a)]) / S(a), with
  // E[min(d, x)] = e^{mu + sigma^2/2} (1 - Q(z_x - sigma)) + x Q(z_x). Clamped to its bounds
  // [slice S(b)/S(a), slice], which rounding far in the tail could leave by a few ulps.
  [[nodiscard]] double expected_tokens(double b) const {
    const double slice = b - a_;
    const double ratio_b = survival_ratio(b);
    const double mean_beyond_b =
        std::exp(mu_ + 0.5 * sigma_ * sigma_ + log_upper_tail(z(b) - sigma_) - log_tail_a_);
    const double e = mean_beyond_a_ - mean_beyond_b + b * ratio_b - a_;
    return std::clamp(e, slice * ratio_b, slice);
  }

 private:
  [[nodiscard]] double z(double x) const { return x <= 0.0 ? -kInf : (std::log(x) - mu_) / sigma_; }

  double mu_, sigma_, a_, log_tail_a_, mean_beyond_a_;
};

double z_of(double x, const CorrectLength& c) {
  return x <= 0.0 ? -kInf : (std::log(x) - c.log_mu) / c.log_sigma;
}

double value_of(const Conditioned& c, const LengthPrior& prior, std::int64_t generated,
                std::int64_t slice) {
  const double a = static_cast<double>(generated), b = static_cast<double>(generated + slice);
  const double tokens = c.expected_tokens(b);
  if (tokens <= 0.0) return 0.0;
  double right = prior.p_correct * c.completion(b);
  if (prior.correct) {
    const double log_tail_a = c.log_tail_a();
    const double right_given_running =
        prior.p_correct * (std::exp(log_upper_tail(z_of(a, *prior.correct)) - log_tail_a) -
                           std::exp(log_upper_tail(z_of(b, *prior.correct)) - log_tail_a));
    right = std::clamp(right_given_running, 0.0, c.completion(b));
  }
  return right / tokens;
}

}  // namespace

LengthPrior default_length_prior() {
  return {std::log(200.0), 1.0, 1.0};
}

std::vector<std::int64_t> slice_grid(std::int64_t query_left, std::int64_t budget_left) {
  std::vector<std::int64_t> grid;
  const std::int64_t limit = std::min(query_left, budget_left);
  if (limit <= 0) return grid;
  if (budget_left < kMinSlice) return {limit};
  for (int k = 0;; ++k) {
    const auto s = static_cast<std::int64_t>(
        std::llround(static_cast<double>(kMinSlice) * std::exp2(static_cast<double>(k) / 4.0)));
    if (s > limit) break;
    if (grid.empty() || s > grid.back()) grid.push_back(s);
  }
  if (query_left <= budget_left && (grid.empty() || grid.back() < query_left)) {
    grid.push_back(query_left);
  }
  return grid;
}

double completion_probability(const LengthPrior& prior, std::int64_t generated,
                              std::int64_t slice) {
  assert(slice >= 0);
  const Conditioned c(prior, generated);
  return c.possible() ? c.completion(static_cast<double>(generated + slice)) : 0.0;
}

double expected_slice_tokens(const LengthPrior& prior, std::int64_t generated, std::int64_t slice) {
  assert(slice >= 0);
  const Conditioned c(prior, generated);
  return c.possible() ? c.expected_tokens(static_cast<double>(generated + slice))
                      : static_cast<double>(slice);
}

double slice_value(const LengthPrior& prior, std::int64_t generated, std::int64_t slice) {
  const Conditioned c(prior, generated);
  return c.possible() && slice > 0 ? value_of(c, prior, generated, slice) : 0.0;
}

SliceIndex continuation_index(const LengthPrior& prior, std::int64_t generated,
                              std::int64_t query_left, std::int64_t budget_left) {
  SliceIndex best;
  if (prior.p_correct <= 0.0) return best;
  const Conditioned c(prior, generated);
  if (!c.possible()) return best;
  for (const std::int64_t slice : slice_grid(query_left, budget_left)) {
    const double v = value_of(c, prior, generated, slice);
    if (v > best.index) best = {v, slice};  // strict: the smallest slice wins a tie
  }
  return best;
}

ProgressiveScheduler::ProgressiveScheduler(std::vector<LengthPrior> priors,
                                           std::vector<std::int64_t> max_tokens,
                                           std::int64_t budget, std::vector<std::int64_t> generated)
    : budget_(budget) {
  assert(priors.size() == max_tokens.size() && budget >= 0);
  assert(generated.empty() || generated.size() == priors.size());
  queries_.resize(priors.size());
  for (std::size_t i = 0; i < priors.size(); ++i) {
    assert(max_tokens[i] >= 0);
    queries_[i].prior = priors[i];
    queries_[i].max_tokens = max_tokens[i];
    if (!generated.empty()) {
      assert(generated[i] >= 0 && generated[i] <= max_tokens[i]);
      queries_[i].generated = generated[i];
    }
    enqueue(i);
  }
}

void ProgressiveScheduler::enqueue(std::size_t query) {
  const Query& q = queries_[query];
  if (q.finished || q.in_flight) return;
  const SliceIndex best =
      continuation_index(q.prior, q.generated, q.max_tokens - q.generated, budget_ - spent_);
  if (best.index > 0.0) waiting_.push({best.index, best.slice, query});
}

std::optional<Slice> ProgressiveScheduler::next() {
  while (!waiting_.empty()) {
    const Entry top = waiting_.top();
    if (top.slice > budget_ - spent_) {
      waiting_.pop();
      enqueue(top.query);  // recomputed within what is left of the budget
      continue;
    }
    if (top.slice > unreserved()) return std::nullopt;  // wait for a slice in flight
    waiting_.pop();
    Query& q = queries_[top.query];
    q.in_flight = true;
    ++in_flight_;
    reserved_ += top.slice;
    return Slice{top.query, q.generated, top.slice};
  }
  return std::nullopt;
}

void ProgressiveScheduler::complete(const Slice& slice, std::int64_t generated, bool finished) {
  Query& q = queries_[slice.query];
  assert(q.in_flight && slice.offset == q.generated);
  assert(generated >= 0 && generated <= slice.cap);
  q.in_flight = false;
  --in_flight_;
  reserved_ -= slice.cap;
  spent_ += generated;
  q.generated += generated;
  ++q.rounds;
  q.finished = finished;
  enqueue(slice.query);
}

void ProgressiveScheduler::cancel(const Slice& slice) {
  Query& q = queries_[slice.query];
  assert(q.in_flight && slice.offset == q.generated);
  q.in_flight = false;
  --in_flight_;
  reserved_ -= slice.cap;
  enqueue(slice.query);
}

std::int64_t ProgressiveScheduler::generated(std::size_t query) const {
  return queries_[query].generated;
}
bool ProgressiveScheduler::finished(std::size_t query) const {
  return queries_[query].finished;
}
int ProgressiveScheduler::rounds(std::size_t query) const {
  return queries_[query].rounds;
}

}  // namespace clearhouse::core
