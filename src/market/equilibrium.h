// Nash equilibrium of the pay-per-token market by best-response dynamics.
//
// Each provider picks a compute level to maximise its utility u_k = s_k (p_k - c_k) given the
// others' levels (welfare.h). The game has an exact potential in log utilities, so round-robin best
// responses (providers 0..K-1 in order, each moving to its best level when that beats its current
// one by more than kImprovementTolerance in log utility) reach a pure Nash equilibrium in finitely
// many moves. Ties keep the current level, else go to the lowest index.
//
// Randomness is passed in: the starting profile is an argument; seeded_profile() draws one from a
// seed with a portable generator (SplitMix64), so results do not depend on the standard library.
//
// Example:
//   Equilibrium eq = best_response_dynamics(market, /*beta=*/100.0, seeded_profile(market, 7));
//   if (eq.status == EquilibriumStatus::kConverged) use(eq.profile);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "market/market.h"

namespace clearhouse::market {

enum class EquilibriumStatus {
  kConverged,   // a full round without a move: a pure Nash equilibrium
  kRoundLimit,  // stopped after max_rounds; the profile may still admit improving moves
};

[[nodiscard]] std::string_view to_string(EquilibriumStatus status);

struct Equilibrium {
  EquilibriumStatus status = EquilibriumStatus::kConverged;
  Profile profile;
  std::size_t rounds = 0;  // passes over all providers, including the final one without a move
  std::size_t moves = 0;   // improving unilateral moves made
  double potential = 0.0;
  double social_welfare = 0.0;  // USD per user arrival
};

// One improving move, for tests and traces.
struct BestResponseStep {
  std::size_t provider = 0;
  std::size_t from = 0;
  std::size_t to = 0;
  double log_utility_gain = 0.0;
  double potential_before = 0.0;
  double potential_after = 0.0;
};

struct BestResponse {
  std::size_t level = 0;     // best level (ties: current level, else lowest index)
  double log_utility = 0.0;  // log u_k at that level
  double current_log_utility = 0.0;
};

// Provider k's best reply to the others' levels in `profile`. O(K + L).
[[nodiscard]] BestResponse best_response(const Market& market, const Profile& profile, double beta,
                                         std::size_t provider);

// Runs the dynamics from `start` (must be market.valid). When `trace` is not null, every move is
// appended to it (with the potential before and after, an extra O(K) per move).
[[nodiscard]] Equilibrium best_response_dynamics(const Market& market, double beta, Profile start,
                                                 std::vector<BestResponseStep>* trace = nullptr,
                                                 std::size_t max_rounds = 0 /* 0: default */);

// Largest gain in log utility any single provider can get by changing its level alone (<= 0 up to
// rounding at an equilibrium), and who gets it.
struct Regret {
  double log_utility_gain = 0.0;
  std::size_t provider = 0;
  std::size_t level = 0;
};
[[nodiscard]] Regret max_regret(const Market& market, const Profile& profile, double beta);

// A uniformly drawn profile from `seed` (SplitMix64; identical on every platform).
[[nodiscard]] Profile seeded_profile(const Market& market, std::uint64_t seed);

// The SplitMix64 step, exposed for tests and for deriving per-task seeds.
[[nodiscard]] std::uint64_t splitmix64(std::uint64_t& state);

}  // namespace clearhouse::market
