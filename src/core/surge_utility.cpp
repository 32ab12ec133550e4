#include "core/surge_utility.h"

#include <boost/math/special_functions/lambert_w.hpp>
#include <cmath>
#include <numbers>

namespace clearhouse::core {

double lambert_w0(double x) {
  return boost::math::lambert_w0(x);
}

double abandonment_root(double c) {
  return 2.0 / (2.0 + c + std::sqrt(c * c + 4.0 * c));
}

bool SurgeUtility::valid() const {
  return std::isfinite(tau) && std::isfinite(alpha) && std::isfinite(beta) && tau > 0.0 &&
         alpha > 0.0 && beta > 0.0;
}

double SurgeUtility::value(double tokens) const {
  if (tokens <= tau) return 0.0;
  const double s = tokens - tau;
  return alpha * s * std::exp(-beta * s);
}

double SurgeUtility::marginal(double tokens) const {
  if (tokens < tau) return 0.0;
  const double s = tokens - tau;
  return alpha * std::exp(-beta * s) * (1.0 - beta * s);
}

double SurgeUtility::peak_value() const {
  return alpha / (beta * std::numbers::e);
}

double price_for_root(double alpha, double u) {
  return alpha * u * std::exp(u - 1.0);
}

double SurgeUtility::cap_at_price(double lambda) const {
  if (lambda <= 0.0) return peak_tokens();
  if (lambda >= alpha) return tau;
  return cap_given_root(lambert_w0(lambda * std::numbers::e / alpha));
}

double SurgeUtility::surplus_at_price(double lambda) const {
  const double t = cap_at_price(lambda);
  return value(t) - lambda * t;
}

double SurgeUtility::abandonment_price() const {
  return price_for_root(alpha, abandonment_root(beta * tau));
}

double SurgeUtility::cap_slope_given_root(double u) const {
  return -1.0 / (alpha * beta * std::exp(u - 1.0) * (1.0 + u));
}

double SurgeUtility::cap_slope_at_price(double lambda) const {
  return cap_slope_given_root(lambda <= 0.0 ? 0.0 : lambert_w0(lambda * std::numbers::e / alpha));
}

}  // namespace clearhouse::core
