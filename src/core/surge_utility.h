// The shifted-surge utility of one query (CLEAR): what `t` output tokens are worth to it.
//
//   phi(t) = 0                                  for t < tau
//   phi(t) = alpha (t - tau) exp(-beta (t - tau))  for t >= tau
//
// tau   > 0: tokens before any chance of a right answer (the emergence threshold), in tokens.
// alpha > 0: scale, in utility per token (phi'(tau+) = alpha).
// beta  > 0: decay, per token; phi peaks at t = tau + 1/beta with value alpha / (beta e).
//
// At a shadow price lambda (utility per token) the query buys the cap where phi'(t) = lambda:
//   t*(lambda) = tau + (1 - W0(lambda e / alpha)) / beta   for 0 <= lambda < alpha,
// and is funded only if its surplus S(lambda) = phi(t*) - lambda t* is positive. Writing
// u = W0(lambda e / alpha), S = alpha e^(u-1) ((1-u)^2 / beta - u tau), so S > 0 exactly when
// lambda < abandonment_price(), which has a closed form (no root finding):
//   u_a = root in (0, 1) of (1-u)^2 = c u with c = beta tau,  lambda_a = alpha u_a e^(u_a - 1).
// Surplus is strictly decreasing in lambda (dS/dlambda = -t*), so "funded" is "lambda < lambda_a".
#pragma once

namespace clearhouse::core {

struct SurgeUtility {
  double tau = 1.0;
  double alpha = 1.0;
  double beta = 1.0;

  // True when all three parameters are finite and positive.
  [[nodiscard]] bool valid() const;

  [[nodiscard]] double value(double tokens) const;     // phi(t), utility
  [[nodiscard]] double marginal(double tokens) const;  // phi'(t), utility per token (0 below tau)
  [[nodiscard]] double peak_tokens() const { return tau + 1.0 / beta; }
  [[nodiscard]] double peak_value() const;  // alpha / (beta e)

  // t*(lambda) in tokens, for lambda >= 0. At lambda >= alpha the derivative never reaches lambda
  // and the answer is tau (which has negative surplus, so the query is abandoned anyway).
  [[nodiscard]] double cap_at_price(double lambda) const;
  // S(lambda) = phi(t*) - lambda t*, utility.
  [[nodiscard]] double surplus_at_price(double lambda) const;
  // The price at which the surplus reaches zero; funded iff lambda < abandonment_price().
  [[nodiscard]] double abandonment_price() const;
  // dt*/dlambda (tokens per unit price, negative) at a price below alpha.
  [[nodiscard]] double cap_slope_at_price(double lambda) const;

  // The same two in terms of the root u = W0(lambda e / alpha), for callers that share one root
  // between many queries (one alpha) or already have it.
  [[nodiscard]] double cap_given_root(double u) const { return tau + (1.0 - u) / beta; }
  [[nodiscard]] double cap_slope_given_root(double u) const;
};

// The price whose root is u: lambda = alpha u e^(u - 1), the inverse of u = W0(lambda e / alpha).
[[nodiscard]] double price_for_root(double alpha, double u);

// u_a(c): the root in (0, 1) of (1 - u)^2 = c u, c = beta tau > 0. Written as 2 / (2 + c +
// sqrt(c^2+4c)) (the product of the two roots is 1) to avoid cancellation for large c.
[[nodiscard]] double abandonment_root(double c);

// W0(x) for x >= 0 via Boost.Math; the one place the core calls Lambert W.
[[nodiscard]] double lambert_w0(double x);

}  // namespace clearhouse::core
