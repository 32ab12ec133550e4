// Named numerical constants of the market module, in one place (HiGHS style). Units are stated on
// each; "relative" means relative to the magnitude of the quantity compared.
#pragma once

#include <cstddef>

namespace clearhouse::market {

// Best-response dynamics stop after this many rounds (passes over all providers) even if some
// provider still improves. The game has an exact potential, so this is only a safety net.
inline constexpr std::size_t kMaxBestResponseRounds = 100000;

// A provider moves only if its log utility rises by more than this (absolute, in nats, i.e. a
// relative utility gain of about 1e-13). Guards against cycling on floating-point noise between
// levels whose utilities are equal in exact arithmetic.
inline constexpr double kImprovementTolerance = 1e-13;

// Dinkelbach's iteration for the welfare optimum stops when welfare no longer rises by more than
// this (relative). It terminates in finitely many steps anyway (finite profile set).
inline constexpr double kOptimumTolerance = 1e-15;
inline constexpr std::size_t kMaxDinkelbachIterations = 10000;

// Curves files: accuracies and tokens are read as decimal numbers; a level whose accuracy is
// outside [0, 1] by more than this is rejected.
inline constexpr double kAccuracySlack = 1e-12;

// USD per token = USD per million tokens times this.
inline constexpr double kPerMillion = 1e-6;

}  // namespace clearhouse::market
