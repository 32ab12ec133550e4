// The welfare optimum of the market: the profile (one level per provider) maximising
//
//   SW(P) = sum_k x_k w_k / (x_0 + sum_k x_k),   x_k = e^{beta V_k(P_k)}, x_0 = e^{beta v0},
//   w_k = q_k - c_k                                                          (USD per user arrival)
//
// over all prod_k L_k profiles (6^9 ~ 10 million for nine providers with six levels). Two exact
// methods with the same contract:
//
//  * welfare_optimum (Dinkelbach): SW is a ratio of sums, so SW* >= lambda iff
//    G(lambda) = sum_k max_l x_kl (w_kl - lambda) - lambda x_0 >= 0, and G separates by provider.
//    Iterating lambda <- SW(argmax profile of G(lambda)) strictly raises lambda until G(lambda) =
//    0, which proves no profile does better. O(K L) per iteration, a handful of iterations. The
//    result carries G(SW*)/Z* as a certificate (<= 0 up to rounding).
//  * welfare_optimum_enumerate: depth-first enumeration of every profile, optionally pruned by the
//    same bound (a partial profile whose best completion cannot beat the incumbent is skipped) and
//    split over threads. The reference for tests and for anyone who wants to see every profile.
//
// Both work in log space with a running max shift, so beta up to 1e6 and more is fine. Ties between
// profiles of equal welfare resolve to the lowest levels (Market::canonical). No I/O, no globals.
//
// Example:
//   Optimum opt = welfare_optimum(market, /*beta=*/1000.0);
//   double poa = price_of_anarchy(opt.social_welfare, eq.social_welfare);
#pragma once

#include <cstdint>
#include <string_view>

#include "market/market.h"

namespace clearhouse::market {

struct Optimum {
  Profile profile;
  double social_welfare = 0.0;           // USD per user arrival
  std::size_t iterations = 0;            // Dinkelbach: profiles evaluated; enumeration: 0
  std::uint64_t profiles_evaluated = 0;  // enumeration: leaves reached
  std::uint64_t subtrees_pruned = 0;     // enumeration with pruning
  double certificate = 0.0;  // Dinkelbach: G(SW*) / Z(P*), <= ~1e-15 |SW*| proves optimality
  std::string_view method;
};

[[nodiscard]] Optimum welfare_optimum(const Market& market, double beta);

struct EnumerationOptions {
  bool prune = true;     // skip subtrees whose bound cannot beat the incumbent
  unsigned threads = 1;  // worker threads (>= 1)
};

[[nodiscard]] Optimum welfare_optimum_enumerate(const Market& market, double beta,
                                                const EnumerationOptions& options = {});

// SW_opt / SW_eq, or NaN when SW_eq <= 0 (the ratio means nothing then).
[[nodiscard]] double price_of_anarchy(double optimum_welfare, double equilibrium_welfare);

}  // namespace clearhouse::market
