#include "eval/bench_grid.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "core/clear_allocation.h"
#include "core/expected_success.h"
#include "core/policies.h"
#include "eval/progressive_replay.h"

namespace clearhouse::eval {
namespace {

constexpr std::array<std::string_view, 12> kPolicies{
    "uniform", "predictor",  "tale-ep",     "clear-heuristic",    "clear-auction", "clear",
    "oracle",  "clear-plus", "progressive", "progressive-length", "progressive-p", "length-oracle"};

template <typename F>
std::vector<double> column(std::span<const ReplayItem> items, F field) {
  std::vector<double> v(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) v[i] = field(items[i]);
  return v;
}

}  // namespace

std::span<const std::string_view> policy_names() { return kPolicies; }

bool is_policy(std::string_view name) {
  return std::find(kPolicies.begin(), kPolicies.end(), name) != kPolicies.end();
}

std::vector<std::int64_t> allocate_policy(std::string_view policy,
                                          std::span<const ReplayItem> items, std::int64_t budget,
                                          const PolicySettings& settings) {
  const auto tau = [&] { return column(items, [](const ReplayItem& r) { return r.tau_hat; }); };
  if (policy == "uniform") return core::allocate_uniform(items.size(), budget);
  if (policy == "predictor") {
    return core::allocate_proportional(tau(), budget,
                                       {0.0, static_cast<double>(settings.max_cap)});
  }
  if (policy == "tale-ep") {
    return core::allocate_proportional(
        column(items, [](const ReplayItem& r) { return r.teacher_tokens; }), budget,
        {0.0, static_cast<double>(settings.max_cap)});
  }
  if (policy == "clear-heuristic") return core::allocate_clear_heuristic(tau(), budget);
  if (policy == "clear-auction") return core::allocate_clear_auction(tau(), budget);
  if (policy == "clear") {
    const auto utilities = core::build_utilities(tau(), settings.clear_utility);
    return core::allocate_clear(utilities, budget).caps;
  }
  if (policy == "oracle") {
    std::vector<std::uint8_t> correct(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) correct[i] = items[i].correct;
    return core::allocate_oracle(
        column(items, [](const ReplayItem& r) { return r.true_tokens; }), correct, budget);
  }
  if (policy == "clear-plus") {
    std::vector<core::SuccessBelief> beliefs(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      beliefs[i] = {items[i].p_correct, items[i].log_mu_correct, items[i].log_sigma_correct};
    }
    return core::allocate_expected_successes(beliefs, budget, settings.max_cap).caps;
  }
  if (policy == "length-oracle") {
    // Knows every length, not correctness: shortest answers first, each exactly its length.
    std::vector<std::uint8_t> fits(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      fits[i] = items[i].true_tokens <= static_cast<double>(settings.max_cap);
    }
    return core::allocate_oracle(column(items, [](const ReplayItem& r) { return r.true_tokens; }),
                                 fits, budget);
  }
  throw std::invalid_argument("unknown policy '" + std::string(policy) + "'");
}

ReplayOutcome evaluate_policy(std::string_view policy, std::span<const ReplayItem> items,
                              std::int64_t budget, const PolicySettings& settings) {
  if (policy.starts_with("progressive")) {
    ProgressiveSettings progressive{settings.max_cap, CorrectnessBelief::kCorrectLength};
    if (policy == "progressive-length") progressive.correctness = CorrectnessBelief::kNone;
    if (policy == "progressive-p") progressive.correctness = CorrectnessBelief::kPCorrect;
    return replay_progressive(items, budget, progressive).outcome;
  }
  return replay(items, allocate_policy(policy, items, budget, settings));
}

double t_quantile_975(std::size_t n) {
  static constexpr std::array<double, 30> kTable{
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (n < 2) return 0.0;
  const std::size_t df = n - 1;
  return df <= kTable.size() ? kTable[df - 1] : 1.96;
}

GridResult run_grid(std::span<const ReplayItem> pool,
                    const std::array<std::vector<std::uint32_t>, kTierCount>& pools,
                    const BenchGrid& grid, const PolicySettings& settings,
                    const std::function<void(std::size_t, std::size_t)>& progress) {
  GridResult result;
  const std::size_t n_budgets = grid.budgets.size(), n_policies = grid.policies.size();
  const std::size_t total = grid.streams.size() * static_cast<std::size_t>(grid.seeds);
  std::size_t done = 0;
  std::vector<ReplayItem> stream_items;
  for (std::size_t s = 0; s < grid.streams.size(); ++s) {
    const StreamMix& mix = grid.streams[s];
    // cells of this stream: [budget][policy]
    std::vector<CellResult> cells(n_budgets * n_policies);
    bool replaced = false;
    for (int seed = 0; seed < grid.seeds; ++seed) {
      // One generator per (stream, seed), independent of which policies or budgets are asked for.
      std::mt19937_64 rng(grid.seed * 1000003ULL + s * 7919ULL + static_cast<std::uint64_t>(seed));
      const StreamDraw draw = draw_stream(pools, mix, grid.stream_size, rng);
      for (bool r : draw.with_replacement) replaced = replaced || r;
      stream_items.clear();
      for (const std::uint32_t id : draw.items) stream_items.push_back(pool[id]);
      for (std::size_t b = 0; b < n_budgets; ++b) {
        const std::int64_t budget =
            grid.budgets[b] * static_cast<std::int64_t>(stream_items.size());
        for (std::size_t p = 0; p < n_policies; ++p) {
          const ReplayOutcome out =
              evaluate_policy(grid.policies[p], stream_items, budget, settings);
          CellResult& cell = cells[b * n_policies + p];
          cell.per_seed.push_back(out.accuracy(stream_items.size()));
          cell.allocated_tokens += static_cast<double>(out.allocated);
          cell.consumed_tokens += out.consumed;
          cell.abandoned += static_cast<double>(out.abandoned);
          cell.requests += static_cast<double>(out.requests);
        }
      }
      if (progress) progress(++done, total);
    }
    if (replaced) result.with_replacement.push_back(mix.name);
    for (std::size_t b = 0; b < n_budgets; ++b) {
      for (std::size_t p = 0; p < n_policies; ++p) {
        CellResult& cell = cells[b * n_policies + p];
        cell.stream = mix.name;
        cell.budget = grid.budgets[b];
        cell.policy = grid.policies[p];
        const auto k = static_cast<double>(cell.per_seed.size());
        double mean = 0.0;
        for (double a : cell.per_seed) mean += a;
        mean /= k;
        double var = 0.0;
        for (double a : cell.per_seed) var += (a - mean) * (a - mean);
        const double sd = cell.per_seed.size() > 1 ? std::sqrt(var / (k - 1.0)) : 0.0;
        const double half = t_quantile_975(cell.per_seed.size()) * sd / std::sqrt(k);
        cell.accuracy = mean;
        cell.ci_low = std::max(0.0, mean - half);
        cell.ci_high = std::min(1.0, mean + half);
        cell.allocated_tokens /= k;
        cell.consumed_tokens /= k;
        cell.abandoned /= k;
        cell.requests /= k;
        result.cells.push_back(std::move(cell));
      }
    }
  }
  return result;
}

}  // namespace clearhouse::eval
