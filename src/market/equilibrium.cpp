#include "market/equilibrium.h"

#include <cmath>
#include <limits>

#include "market/logit.h"
#include "market/tolerances.h"
#include "market/welfare.h"

namespace clearhouse::market {
namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// log(e^{beta v0} + sum_{l != k} e^{beta V_l}).
double log_partition_without(const Market& market, const Profile& profile, double beta,
                             std::size_t provider) {
  const double outside = beta * market.params().outside_value;
  double top = outside;
  for (std::size_t l = 0; l < market.size(); ++l) {
    if (l != provider) top = std::max(top, beta * market.at(l, profile[l]).user_value);
  }
  double sum = std::exp(outside - top);
  for (std::size_t l = 0; l < market.size(); ++l) {
    if (l != provider) sum += std::exp(beta * market.at(l, profile[l]).user_value - top);
  }
  return top + std::log(sum);
}

// log u_k at `level` given the others' log partition: log s + log(p - c), with
// log s = -log(1 + e^{log_z_others - beta V}) computed without cancelling large terms.
double log_utility_at(const LevelEconomics& e, double beta, double log_z_others) {
  if (e.log_margin == kMinusInf) return kMinusInf;
  const double gap = log_z_others - beta * e.user_value;
  const double log_s = gap > 0.0 ? -(gap + std::log1p(std::exp(-gap))) : -std::log1p(std::exp(gap));
  return log_s + e.log_margin;
}

}  // namespace

std::string_view to_string(EquilibriumStatus status) {
  switch (status) {
    case EquilibriumStatus::kConverged: return "converged";
    case EquilibriumStatus::kRoundLimit: return "round_limit";
  }
  return "?";
}

BestResponse best_response(const Market& market, const Profile& profile, double beta,
                           std::size_t provider) {
  const double log_z_others = log_partition_without(market, profile, beta, provider);
  BestResponse out;
  out.level = profile[provider];
  out.current_log_utility =
      log_utility_at(market.at(provider, profile[provider]), beta, log_z_others);
  out.log_utility = out.current_log_utility;
  double best = kMinusInf;
  std::size_t best_level = profile[provider];
  for (std::size_t l = 0; l < market.levels(provider); ++l) {
    const double u = log_utility_at(market.at(provider, l), beta, log_z_others);
    if (u > best) {
      best = u;
      best_level = l;
    }
  }
  if (best > out.current_log_utility + kImprovementTolerance) {
    out.level = best_level;
    out.log_utility = best;
  }
  return out;
}

Equilibrium best_response_dynamics(const Market& market, double beta, Profile start,
                                   std::vector<BestResponseStep>* trace, std::size_t max_rounds) {
  if (max_rounds == 0) max_rounds = kMaxBestResponseRounds;
  Equilibrium eq;
  eq.profile = std::move(start);
  eq.status = EquilibriumStatus::kRoundLimit;
  while (eq.rounds < max_rounds) {
    ++eq.rounds;
    bool moved = false;
    for (std::size_t k = 0; k < market.size(); ++k) {
      const BestResponse br = best_response(market, eq.profile, beta, k);
      if (br.level == eq.profile[k]) continue;
      BestResponseStep step;
      if (trace != nullptr) step.potential_before = potential(market, eq.profile, beta);
      step.provider = k;
      step.from = eq.profile[k];
      step.to = br.level;
      step.log_utility_gain = br.log_utility - br.current_log_utility;
      eq.profile[k] = br.level;
      ++eq.moves;
      moved = true;
      if (trace != nullptr) {
        step.potential_after = potential(market, eq.profile, beta);
        trace->push_back(step);
      }
    }
    if (!moved) {
      eq.status = EquilibriumStatus::kConverged;
      break;
    }
  }
  eq.potential = potential(market, eq.profile, beta);
  eq.social_welfare = social_welfare(market, eq.profile, beta);
  return eq;
}

Regret max_regret(const Market& market, const Profile& profile, double beta) {
  Regret out;
  out.log_utility_gain = kMinusInf;
  for (std::size_t k = 0; k < market.size(); ++k) {
    const double log_z_others = log_partition_without(market, profile, beta, k);
    const double current = log_utility_at(market.at(k, profile[k]), beta, log_z_others);
    for (std::size_t l = 0; l < market.levels(k); ++l) {
      const double u = log_utility_at(market.at(k, l), beta, log_z_others);
      // Both -inf (no margin at either level): no gain.
      const double gain = (u == kMinusInf) ? kMinusInf : u - current;
      if (gain > out.log_utility_gain) out = Regret{gain, k, l};
    }
  }
  return out;
}

std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Profile seeded_profile(const Market& market, std::uint64_t seed) {
  std::uint64_t state = seed;
  Profile profile(market.size());
  for (std::size_t k = 0; k < market.size(); ++k) {
    // Modulo bias is below 1e-17 for grids of a few levels: irrelevant for a starting point.
    profile[k] = static_cast<std::size_t>(splitmix64(state) % market.levels(k));
  }
  return profile;
}

}  // namespace clearhouse::market
