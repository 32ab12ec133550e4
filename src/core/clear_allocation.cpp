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
  [[nodiscard]] double u(std::size_t i) const {
    return shared_ ? shared_u_ : root_for(queries_[i]);
  }

 private:
  [[nodiscard]] double root_for(const SurgeUtility& q) const {
    return lambda_ <= 0.0 ? 0.0 : lambert_w0(lambda_ * std::numbers::e / q.alpha);
  }
  std::span<const SurgeUtility> queries_;
  double lambda_;
  bool shared_;
  double shared_u_ = 0.0;
};

// Sum of funded caps and its slope at lambda (funded set fixed).
struct FundedTotal {
  double tokens = 0.0;
  double slope = 0.0;
};

FundedTotal funded_total(std::span<const SurgeUtility> queries, std::span<const std::size_t> funded,
                         double lambda) {
  const PriceRoots roots(queries, lambda, /*shared=*/false);
  FundedTotal total;
  for (const std::size_t i : funded) {
    const double u = roots.u(i);
    total.tokens += queries[i].cap_given_root(u);
    total.slope += queries[i].cap_slope_given_root(u);
  }
  return total;
}

// The fill price: lambda_f in [0, lambda*] with funded total = budget. Closed form when alpha is
// shared (from the funded sums of tau and 1/beta); otherwise Newton from below on a convex
// decreasing function (never overshoots).
double fill_price(std::span<const SurgeUtility> queries, std::span<const std::size_t> funded,
                  double budget, const ShadowPrice& price, bool shared, double tau_sum,
                  double inv_beta_sum) {
  const double lambda_star = price.lambda;
  if (funded.empty() || lambda_star <= 0.0) return 0.0;
  if (budget - price.planned_tokens < 0.5) return lambda_star;  // less than a token to hand out
  if (shared) {
    const double u = 1.0 - (budget - tau_sum) / inv_beta_sum;
    if (u <= 0.0) return 0.0;
    return std::min(lambda_star, price_for_root(queries.front().alpha, u));
  }
  FundedTotal at = funded_total(queries, funded, 0.0);
  if (at.tokens <= budget) return 0.0;
  double lambda = 0.0;
  for (int pass = 0; pass < kExactMaxPasses; ++pass) {
    const double next = std::min(lambda_star, lambda + (at.tokens - budget) / -at.slope);
    if (next - lambda <= kExactPriceTolerance * next) break;
    lambda = next;
    at = funded_total(queries, funded, lambda);
    if (at.tokens <= budget + kTokenSlack) break;
  }
  // Never above lambda*: there the funded total already fits.
  return at.tokens <= budget + kTokenSlack ? lambda : lambda_star;
}

// The Lagrangian bound at lambda. With shared alpha, S_i = alpha e^(u-1) ((1-u)^2 / beta_i - u
// tau_i) with one root u, so over the queries with positive surplus it is a function of two sums.
double shared_alpha_bound(double alpha, double budget, double lambda, double tau_sum,
                          double inv_beta_sum) {
  if (lambda >= alpha) return lambda * budget;
  const double u = lambda <= 0.0 ? 0.0 : lambert_w0(lambda * std::numbers::e / alpha);
  const double surplus =
      alpha * std::exp(u - 1.0) * ((1.0 - u) * (1.0 - u) * inv_beta_sum - u * tau_sum);
  return lambda * budget + std::max(0.0, surplus);
}

double bound_with(std::span<const SurgeUtility> queries, double budget, double lambda,
                  bool shared) {
  if (shared && !queries.empty()) {
    double tau_sum = 0.0, inv_beta_sum = 0.0;
    for (const auto& q : queries) {
      if (lambda < q.abandonment_price()) {
        tau_sum += q.tau;
        inv_beta_sum += 1.0 / q.beta;
      }
    }
    return shared_alpha_bound(queries.front().alpha, budget, lambda, tau_sum, inv_beta_sum);
  }
  const PriceRoots roots(queries, lambda, false);
  double bound = lambda * budget;
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const auto& q = queries[i];
    if (lambda >= q.alpha) continue;  // t* = tau: surplus -lambda tau < 0
    const double t = q.cap_given_root(roots.u(i));
    bound += std::max(0.0, q.value(t) - lambda * t);
  }
  return bound;
}

// Clamping at floor(peak) can strand a few whole tokens that rounding could not place: give them
// one each, in index order, to funded queries still below floor(peak), until none is left or all
// are there. At most a few rounds: what is stranded is below the number of funded queries.
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
  plan.price = solver == PriceSolver::kExact ? solve_shadow_price_exact(queries, b)
                                             : solve_shadow_price_bisection(queries, b);
  const double lambda_star = plan.price.lambda;
  // The exact solver's shared-alpha path says so by setting the cut; then the funded sums come
  // with it and nothing below needs a pass of its own.
  const bool solver_sums = !std::isnan(plan.price.funded_cut);
  const bool shared = !queries.empty() && (solver_sums || shares_alpha(queries));

  std::vector<std::size_t> funded;
  std::vector<double> shares;
  funded.reserve(plan.price.funded);
  shares.reserve(plan.price.funded);
  double tau_sum = plan.price.funded_tau_sum, inv_beta_sum = plan.price.funded_inv_beta_sum;
  if (solver_sums) {
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (queries[i].beta * queries[i].tau < plan.price.funded_cut) funded.push_back(i);
    }
  } else {
    tau_sum = inv_beta_sum = 0.0;
    for (std::size_t i = 0; i < queries.size(); ++i) {
      if (lambda_star < queries[i].abandonment_price()) {
        funded.push_back(i);
        tau_sum += queries[i].tau;
        inv_beta_sum += 1.0 / queries[i].beta;
      }
    }
  }
  plan.fill_price = fill_price(queries, funded, b, plan.price, shared, tau_sum, inv_beta_sum);

  // Continuous caps at the fill price, clamped at floor(peak) so that no rounding bonus passes a
  // peak, then whole tokens.
  const PriceRoots roots(queries, plan.fill_price, shared);
  for (const std::size_t i : funded) {
    const auto& q = queries[i];
    shares.push_back(std::min(q.cap_given_root(roots.u(i)), std::floor(q.peak_tokens())));
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
  plan.upper_bound =
      shared ? shared_alpha_bound(queries.front().alpha, b, lambda_star, tau_sum, inv_beta_sum)
             : bound_with(queries, b, lambda_star, false);
  return plan;
}

}  // namespace clearhouse::core
