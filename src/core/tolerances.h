// Named numerical constants of the allocation core, in one place (HiGHS style). Units are stated on
// each; "relative" means relative to the magnitude of the quantity compared.
#pragma once

namespace clearhouse::core {

// The CLEAR paper's reference bisection: at most 40 halvings, stopping once the bracket on the
// shadow price is narrower than this (relative to its upper end).
inline constexpr int kBisectionIterations = 40;
inline constexpr double kBisectionTolerance = 1e-6;

// The exact solver and the leftover re-solve stop when the price bracket is this narrow (relative).
inline constexpr double kExactPriceTolerance = 1e-13;
// Safety net on the iterative (per-query alpha) path of the exact solver: passes over the queries.
inline constexpr int kExactMaxPasses = 200;

// Planned token totals are compared with the budget with this slack (tokens), so that rounding in
// a sum of a million doubles never turns a feasible plan into an infeasible one.
inline constexpr double kTokenSlack = 1e-6;

}  // namespace clearhouse::core
