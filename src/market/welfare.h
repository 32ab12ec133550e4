// Payoffs of a profile in the pay-per-token market (Test-Time Compute Games):
//
//   provider utility   u_k = s_k (p_k - c_k)                       (USD per user arrival)
//   social welfare     SW  = sum_k s_k (q_k - c_k)                 (USD per user arrival)
//   potential          Phi = sum_k log(p_k - c_k) + beta sum_k V_k - log(e^{beta v0} + sum_l
//   e^{beta V_l})
//
// Phi is an exact potential of the game in log utilities: when provider k alone changes level,
// Phi changes by exactly log u_k(new) - log u_k(old), so every improving move raises Phi and
// best-response dynamics terminate. Per-arrival means: a user who takes the outside option pays
// nothing and adds nothing.
#pragma once

#include <cstddef>

#include "market/market.h"

namespace clearhouse::market {

[[nodiscard]] double log_provider_utility(const Market& market, const Profile& profile, double beta,
                                          std::size_t provider);
[[nodiscard]] double provider_utility(const Market& market, const Profile& profile, double beta,
                                      std::size_t provider);
[[nodiscard]] double social_welfare(const Market& market, const Profile& profile, double beta);
[[nodiscard]] double potential(const Market& market, const Profile& profile, double beta);

// What users and providers see under a profile, per user arrival (the outside option counts as
// buying nothing: price 0, value v0 for the user, no tokens).
struct MarketSummary {
  double social_welfare = 0.0;   // USD
  double mean_price = 0.0;       // sum_k s_k p_k, USD paid by users
  double user_value = 0.0;       // sum_k s_k V_k + s_0 v0, USD kept by users
  double provider_profit = 0.0;  // sum_k s_k (p_k - c_k), USD
  double mean_tokens = 0.0;      // sum_k s_k n_k, output tokens spent
  double buy_share = 0.0;        // sum_k s_k
  double mean_accuracy = 0.0;    // sum_k s_k a_k / sum_k s_k (0 when nobody buys)
};

[[nodiscard]] MarketSummary summarize(const Market& market, const Profile& profile, double beta);

}  // namespace clearhouse::market
