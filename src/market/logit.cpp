#include "market/logit.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace clearhouse::market {

double log_add(double a, double b) {
  if (a < b) std::swap(a, b);
  if (b == -std::numeric_limits<double>::infinity()) return a;
  return a + std::log1p(std::exp(b - a));
}

double log_sum_exp(std::span<const double> xs) {
  double top = -std::numeric_limits<double>::infinity();
  for (double x : xs) top = std::max(top, x);
  if (top == -std::numeric_limits<double>::infinity()) return top;
  double sum = 0.0;
  for (double x : xs) sum += std::exp(x - top);
  return top + std::log(sum);
}

double log_partition(const Market& market, const Profile& profile, double beta) {
  const double outside = beta * market.params().outside_value;
  double top = outside;
  for (std::size_t k = 0; k < market.size(); ++k) {
    top = std::max(top, beta * market.at(k, profile[k]).user_value);
  }
  double sum = std::exp(outside - top);
  for (std::size_t k = 0; k < market.size(); ++k) {
    sum += std::exp(beta * market.at(k, profile[k]).user_value - top);
  }
  return top + std::log(sum);
}

double log_share(const Market& market, const Profile& profile, double beta, std::size_t provider) {
  return beta * market.at(provider, profile[provider]).user_value -
         log_partition(market, profile, beta);
}

std::vector<double> shares(const Market& market, const Profile& profile, double beta) {
  const double log_z = log_partition(market, profile, beta);
  std::vector<double> s(market.size());
  for (std::size_t k = 0; k < market.size(); ++k) {
    s[k] = std::exp(beta * market.at(k, profile[k]).user_value - log_z);
  }
  return s;
}

double outside_share(const Market& market, const Profile& profile, double beta) {
  return std::exp(beta * market.params().outside_value - log_partition(market, profile, beta));
}

}  // namespace clearhouse::market
