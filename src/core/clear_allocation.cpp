#include "core/clear_allocation.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

#include "core/integerize.h"
#include "core/tolerances.h"

namespace clearhouse::core {
namespace {

// W0(lambda e / alpha) for one query, or the shared value when every query has the same alpha.
class PriceRoots {
 public:
  PriceRoots(std::span<const SurgeUtility> queries, double lambda, bool shared)
      : queries_(queries), lambda_(lambda), shared_(shared) {
    if (shared_ && !queries.empty()) shared_u_ = root_for(queries.front());
  }
  [[nodiscard]] double u(std::size_t i) const { return shared_ ? shared_u_ : root_for(queries_[i]); }

 private:
  [[nodiscard]] double root_for(const SurgeUtility& q) const {
    return lambda_ <= 0.0 ? 0.0 : lambert_w0(lambda_ * std::numbers::e / q.alpha);
  }
  std::span<const SurgeUtility> queries_;
  double lambda_;
  bool shared_;
  double shared_u_ = 0.0;
};

double cap_given_root(const SurgeUtility& q, double u) { return q.tau + (1.0 - u) / q.beta; }

// Sum of funded caps and its slope at lambda (funded set fixed).
struct FundedTotal {
  double tokens = 0.0;
  double slope = 0.0;
};

FundedTotal funded_total(std::span<const SurgeUtility> queries, std::span<const std::size_t> funded,
                         double lambda, bool shared) {
  const PriceRoots roots(queries, lambda, shared);
  FundedTotal total;
  for (const std::size_t i : funded) {
    const auto& q = queries[i];
    const double u = roots.u(i);
    total.tokens += cap_given_root(q, u);
    total.slope -= 1.0 / (q.alpha * q.beta * std::exp(u - 1.0) * (1.0 + u));
  }
  return total;
}

// The fill price: lambda_f in [0, lambda*] with funded total = budget. Closed form when alpha is
// shared; otherwise Newton from below on a convex decreasing function (never overshoots).
double fill_price(std::span<const SurgeUtility> queries, std::span<const std::size_t> funded,
                  double budget, double lambda_star, double planned, bool shared) {
  if (funded.empty() || lambda_star <= 0.0) return 0.0;
  if (budget - planned < 0.5) return lambda_star;  // less than a token to hand out
  if (shared) {
    double tau_sum = 0.0, inv_beta_sum = 0.0;
    for (const std::size_t i : funded) {
      tau_sum += queries[i].tau;
      inv_beta_sum += 1.0 / queries[i].beta;
    }
    const double u = 1.0 - (budget - tau_sum) / inv_beta_sum;
    if (u <= 0.0) return 0.0;
    const double alpha = queries.front().alpha;
    return std::min(lambda_star, alpha * u * std::exp(u - 1.0));
  }
  FundedTotal at = funded_total(queries, funded, 0.0, false);
  if (at.tokens <= budget) return 0.0;
  double lambda = 0.0;
  for (int pass = 0; pass < kExactMaxPasses; ++pass) {
    const double next = std::min(lambda_star, lambda + (at.tokens - budget) / -at.slope);
    if (next - lambda <= kExactPriceTolerance * next) break;
    lambda = next;
    at = funded_total(queries, funded, lambda, false);
    if (at.tokens <= budget + kTokenSlack) break;
  }
  // Never above lambda*: there the funded total already fits.
  return at.tokens <= budget + kTokenSlack ? lambda : lambda_star;
}

// Funded queries: from the exact solver's cut when it gave one, otherwise by abandonment price.
std::vector<std::size_t> funded_queries(std::span<const SurgeUtility> queries,
                                        const ShadowPrice& price) {
  std::vector<std::size_t> funded;
  funded.reserve(price.funded);
  if (!std::isnan(price.funded_cut)) {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (queries[i].beta * queries[i].tau < price.funded_cut) funded.push_back(i);
    }
  } else {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (price.lambda < queries[i].abandonment_price()) funded.push_back(i);
    }
  }
  return funded;
}

double bound_with(std::span<const SurgeUtility> queries, double budget, double lambda,
                  bool shared) {
  const PriceRoots roots(queries, lambda, shared);
  double bound = lambda * budget;
  if (shared && !queries.empty()) {
    // S_i = alpha e^(u-1) ((1-u)^2 / beta_i - u tau_i) with the shared root u: no exp per query.
    const double u = roots.u(0);
    const double scale = queries.front().alpha * std::exp(u - 1.0);
    if (lambda >= queries.front().alpha) return bound;
    for (const auto& q : queries) {
      bound += std::max(0.0, scale * ((1.0 - u) * (1.0 - u) / q.beta - u * q.tau));
    }
    return bound;
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    if (lambda >= q.alpha) continue;  // t* = tau: surplus -lambda tau < 0
    const double t = cap_given_root(q, roots.u(i));
    bound += std::max(0.0, q.value(t) - lambda * t);
  }
  return bound;
}

// Clamping at floor(peak) can strand a few whole tokens that rounding could not place: give them one
// each, in index order, to funded queries still below floor(peak), until none is left or all are
// there. At most a few rounds: what is stranded is below the number of funded queries.
void hand_out_stranded_tokens(std::span<const SurgeUtility> queries,
                              std::span<const std::size_t> funded, std::int64_t budget,
                              std::vector<std::int64_t>& whole) {
  std::int64_t left = budget - total_tokens(whole);
  bool progress = true;
  while (left > 0 && progress) {
    progress = false;
    for (std::size_t k = 0; k < funded.size() && left > 0; ++k) {
      if (static_cast<double>(whole[k] + 1) <= std::floor(queries[funded[k]].peak_tokens())) {
        ++whole[k];
        --left;
        progress = true;
      }
    }
  }
}

}  // namespace

double ClearPlan::relative_gap() const {
  return upper_bound > 0.0 ? (upper_bound - utility) / upper_bound : 0.0;
}

double lagrangian_bound(std::span<const SurgeUtility> queries, double budget, double lambda) {
  return bound_with(queries, budget, lambda, shares_alpha(queries));
}

ClearPlan allocate_clear(std::span<const SurgeUtility> queries, std::int64_t budget,
                         PriceSolver solver) {
  assert(budget > 0);
  const double b = static_cast<double>(budget);
  ClearPlan plan;
  const bool shared = shares_alpha(queries);
  plan.price = solver == PriceSolver::kExact ? solve_shadow_price_exact(queries, b, shared)
                                             : solve_shadow_price_bisection(queries, b);
  const double lambda_star = plan.price.lambda;
  const std::vector<std::size_t> funded = funded_queries(queries, plan.price);
  plan.fill_price =
      fill_price(queries, funded, b, lambda_star, plan.price.planned_tokens, shared);

  // Continuous caps at the fill price, clamped at floor(peak) so that no rounding bonus passes a
  // peak, then whole tokens.
  const PriceRoots roots(queries, plan.fill_price, shared);
  std::vector<double> shares(funded.size());
  for (std::size_t k = 0; k < funded.size(); ++k) {
    const auto& q = queries[funded[k]];
    shares[k] = std::min(cap_given_root(q, roots.u(funded[k])), std::floor(q.peak_tokens()));
  }
  std::vector<std::int64_t> whole = round_to_total(shares, budget);
  hand_out_stranded_tokens(queries, funded, budget, whole);

  plan.caps.assign(queries.size(), 0);
  for (std::size_t k = 0; k < funded.size(); ++k) {
    const std::size_t i = funded[k];
    plan.caps[i] = whole[k];
    plan.allocated += whole[k];
    if (whole[k] > 0) ++plan.funded;
    plan.utility += queries[i].value(static_cast<double>(whole[k]));
  }
  plan.upper_bound = bound_with(queries, b, lambda_star, shared);
  return plan;
}

}  // namespace clearhouse::core
