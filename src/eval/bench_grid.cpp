#include "eval/bench_grid.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>

#include "core/policy_registry.h"
#include "eval/progressive_replay.h"

namespace clearhouse::eval {
namespace {

template <typename F>
std::vector<double> column(std::span<const ReplayItem> items, F field) {
  std::vector<double> v(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) v[i] = field(items[i]);
  return v;
}

// The columns core::run_policy reads for one stream; every replay item carries every input.
class StreamColumns {
 public:
  StreamColumns(std::span<const ReplayItem> items, const PolicySettings& settings)
      : tau_(column(items, [](const ReplayItem& r) { return r.tau_hat; })),
        teacher_(column(items, [](const ReplayItem& r) { return r.teacher_tokens; })),
        true_tokens_(column(items, [](const ReplayItem& r) { return r.true_tokens; })),
        utilities_(core::build_utilities(tau_, settings.clear_utility)) {
    correct_.reserve(items.size());
    beliefs_.reserve(items.size());
    for (const ReplayItem& r : items) {
      correct_.push_back(r.correct);
      beliefs_.push_back({r.p_correct, r.log_mu_correct, r.log_sigma_correct});
    }
    inputs_.queries = items.size();
    inputs_.tau = tau_;
    inputs_.teacher_tau = teacher_;
    inputs_.tokens_needed = true_tokens_;
    inputs_.correct = correct_;
    inputs_.beliefs = beliefs_;
    inputs_.utilities = utilities_;
    inputs_.limits = {0.0, static_cast<double>(settings.max_cap)};
    inputs_.max_cap = settings.max_cap;
  }
  StreamColumns(const StreamColumns&) = delete;  // inputs_ points into this object
  StreamColumns& operator=(const StreamColumns&) = delete;

  [[nodiscard]] const core::PolicyInputs& inputs() const { return inputs_; }

 private:
  std::vector<double> tau_, teacher_, true_tokens_;
  std::vector<std::uint8_t> correct_;
  std::vector<core::SuccessBelief> beliefs_;
  std::vector<core::SurgeUtility> utilities_;
  core::PolicyInputs inputs_;
};

}  // namespace

ReplayOutcome evaluate_policy(core::Policy policy, std::span<const ReplayItem> items,
                              std::int64_t budget, const PolicySettings& settings) {
  if (core::policy_spec(policy).continuation) {
    ProgressiveSettings progressive{settings.max_cap, CorrectnessBelief::kCorrectLength};
    if (policy == core::Policy::kProgressiveLength)
      progressive.correctness = CorrectnessBelief::kNone;
    if (policy == core::Policy::kProgressiveP)
      progressive.correctness = CorrectnessBelief::kPCorrect;
    return replay_progressive(items, budget, progressive).outcome;
  }
  const StreamColumns columns(items, settings);
  return replay(items, core::run_policy(policy, columns.inputs(), budget).caps);
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
      StreamDraw draw;
      if (grid.fixed.empty()) {
        draw = draw_stream(pools, mix, grid.stream_size, rng);
      } else {
        assert(grid.streams.size() == 1 && grid.seeds == 1);
        draw.items = grid.fixed;
      }
      for (bool r : draw.with_replacement) replaced = replaced || r;
      stream_items.clear();
      for (const std::uint32_t id : draw.items) stream_items.push_back(pool[id]);
      const StreamColumns columns(stream_items, settings);
      for (std::size_t b = 0; b < n_budgets; ++b) {
        const std::int64_t budget =
            grid.budgets[b] * static_cast<std::int64_t>(stream_items.size());
        for (std::size_t p = 0; p < n_policies; ++p) {
          const core::Policy policy = grid.policies[p];
          const ReplayOutcome out =
              core::policy_spec(policy).continuation
                  ? evaluate_policy(policy, stream_items, budget, settings)
                  : replay(stream_items, core::run_policy(policy, columns.inputs(), budget).caps);
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
