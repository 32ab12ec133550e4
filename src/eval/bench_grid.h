// The replay grid of `clearhouse bench`: policies x streams x budgets x seeds on recorded answers.
//
// For each (stream, seed) one stream is drawn; every budget and policy is evaluated on that same
// stream (paired comparisons). A grid may instead name its one stream's items (`fixed`): then
// nothing is drawn, and every policy and budget is replayed on exactly those items, in that order
// (to compare with a run of the same batch). A cell's accuracy is the mean over seeds with a 95%
// Student-t interval. Budgets are average tokens per query; the total is budget x stream size. No
// I/O: progress goes through a callback.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/policy_registry.h"
#include "core/utility_model.h"
#include "eval/replay.h"
#include "eval/streams.h"

namespace clearhouse::eval {

struct PolicySettings {
  core::UtilityModel clear_utility;  // for `clear` (beta fixed, calibrated on training data)
  std::int64_t max_cap = 4096;       // the recorded runs' max_tokens
};

// One policy's replay on one stream: core::run_policy then replay, or, for a continuation policy
// (progressive*), the progressive replay (eval/progressive_replay.h).
[[nodiscard]] ReplayOutcome evaluate_policy(core::Policy policy, std::span<const ReplayItem> items,
                                            std::int64_t budget, const PolicySettings& settings);

struct BenchGrid {
  std::vector<StreamMix> streams;
  // Any policy of core/policy_registry.h: replay items carry every input, clear-plus's included.
  std::vector<std::int64_t> budgets;  // average tokens per query
  std::vector<core::Policy> policies;
  int seeds = 5;
  std::size_t stream_size = 500;
  std::uint64_t seed = 1;
  // Non-empty: the one stream (streams must hold exactly one entry, naming it; seeds = 1 and
  // stream_size = fixed.size()) is these indices into the pool, in this order.
  std::vector<std::uint32_t> fixed;
};

struct CellResult {
  std::string stream;
  std::int64_t budget = 0;  // per query
  core::Policy policy = core::Policy::kUniform;
  double accuracy = 0.0;  // mean over seeds, fraction
  double ci_low = 0.0, ci_high = 0.0;
  double allocated_tokens = 0.0;  // mean total per stream
  double consumed_tokens = 0.0;   // mean total per stream
  double abandoned = 0.0;         // mean count per stream
  double requests = 0.0;          // mean count per stream (progressive: one per slice)
  std::vector<double> per_seed;   // accuracies
};

struct GridResult {
  std::vector<CellResult> cells;
  // Streams whose tiers were drawn with replacement (a tier held fewer questions than needed).
  std::vector<std::string> with_replacement;
};

// pool: every candidate question's replay item; pools[t]: indices into pool of tier t.
// progress(done, total) after each (stream, seed).
[[nodiscard]] GridResult run_grid(
    std::span<const ReplayItem> pool,
    const std::array<std::vector<std::uint32_t>, kTierCount>& pools, const BenchGrid& grid,
    const PolicySettings& settings,
    const std::function<void(std::size_t, std::size_t)>& progress = {});

// Half-width factor of a two-sided 95% Student-t interval with n - 1 degrees of freedom.
[[nodiscard]] double t_quantile_975(std::size_t n);

}  // namespace clearhouse::eval
