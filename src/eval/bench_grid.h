// The replay grid of `clearhouse bench`: policies x streams x budgets x seeds on recorded answers.
//
// For each (stream, seed) one stream is drawn; every budget and policy is evaluated on that same
// stream (paired comparisons). A cell's accuracy is the mean over seeds with a 95% Student-t interval.
// Budgets are average tokens per query; the total is budget x stream size. No I/O: progress goes
// through a callback.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/utility_model.h"
#include "eval/replay.h"
#include "eval/streams.h"

namespace clearhouse::eval {

// uniform, predictor, tale-ep, clear-heuristic, clear-auction, clear, oracle, clear-plus (one-shot
// caps); progressive (continuation with clear-plus's correctness beliefs), progressive-length
// (lengths only, p = 1), progressive-p (p only) (eval/progressive_replay.h); length-oracle
// (one-shot caps knowing every length, not correctness)
[[nodiscard]] std::span<const std::string_view> policy_names();
[[nodiscard]] bool is_policy(std::string_view name);

struct PolicySettings {
  core::UtilityModel clear_utility;  // for `clear` (beta fixed, calibrated on training data)
  std::int64_t max_cap = 4096;       // the recorded runs' max_tokens
};

// Caps for one one-shot policy on one stream; total <= budget. Throws std::invalid_argument for an
// unknown policy name or a policy that does not plan caps up front (progressive).
[[nodiscard]] std::vector<std::int64_t> allocate_policy(std::string_view policy,
                                                        std::span<const ReplayItem> items,
                                                        std::int64_t budget,
                                                        const PolicySettings& settings);

// One policy's replay on one stream: allocate_policy then replay, or the progressive replay.
[[nodiscard]] ReplayOutcome evaluate_policy(std::string_view policy,
                                            std::span<const ReplayItem> items, std::int64_t budget,
                                            const PolicySettings& settings);

struct BenchGrid {
  std::vector<StreamMix> streams;
  std::vector<std::int64_t> budgets;  // average tokens per query
  std::vector<std::string> policies;
  int seeds = 5;
  std::size_t stream_size = 500;
  std::uint64_t seed = 1;
};

struct CellResult {
  std::string stream;
  std::int64_t budget = 0;  // per query
  std::string policy;
  double accuracy = 0.0;    // mean over seeds, fraction
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
[[nodiscard]] GridResult run_grid(std::span<const ReplayItem> pool,
                                  const std::array<std::vector<std::uint32_t>, kTierCount>& pools,
                                  const BenchGrid& grid, const PolicySettings& settings,
                                  const std::function<void(std::size_t, std::size_t)>& progress = {});

// Half-width factor of a two-sided 95% Student-t interval with n - 1 degrees of freedom.
[[nodiscard]] double t_quantile_975(std::size_t n);

}  // namespace clearhouse::eval
