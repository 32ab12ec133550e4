// Logit market shares with an outside option (Test-Time Compute Games):
//
//   s_k = e^{beta V_k} / (e^{beta v0} + sum_l e^{beta V_l}),    s_0 = e^{beta v0} / (same)
//
// beta >= 0 is the users' rationality (per USD: beta = 0 splits users evenly, beta -> infinity
// sends everyone to the best user value). Everything is computed in log space with a max shift, so
// beta = 1e6 with values of order 10 USD neither overflows nor loses the losers' (tiny) shares'
// logs.
//
// Example:
//   double log_z = log_partition(market, profile, beta);
//   double s0 = std::exp(log_share(market, profile, beta, 0) );   // provider 0's share
#pragma once

#include <span>
#include <vector>

#include "market/market.h"

namespace clearhouse::market {

// log(a + b) for log-space a, b (either may be -inf).
[[nodiscard]] double log_add(double a, double b);
// log(sum_i e^{x_i}); -inf for an empty span.
[[nodiscard]] double log_sum_exp(std::span<const double> xs);

// log(e^{beta v0} + sum_k e^{beta V_k(profile_k)}).
[[nodiscard]] double log_partition(const Market& market, const Profile& profile, double beta);
// log s_k.
[[nodiscard]] double log_share(const Market& market, const Profile& profile, double beta,
                               std::size_t provider);
// s_k for every provider (they sum to 1 - outside share).
[[nodiscard]] std::vector<double> shares(const Market& market, const Profile& profile, double beta);
// s_0, the share of users who buy nothing.
[[nodiscard]] double outside_share(const Market& market, const Profile& profile, double beta);

}  // namespace clearhouse::market
