#include "market/curve_builder.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>

namespace clearhouse::market {

std::vector<ComputeLevel> token_capped_curve(std::span<const CappedRun> runs,
                                             std::span<const double> thetas) {
  std::vector<ComputeLevel> out;
  out.reserve(thetas.size());
  const double n = static_cast<double>(runs.size());
  for (double theta : thetas) {
    double solved = 0.0;
    double tokens = 0.0;
    for (const CappedRun& r : runs) {
      if (r.correct && r.output_tokens <= theta) solved += 1.0;
      tokens += std::min(r.output_tokens, theta);
    }
    out.push_back(
        ComputeLevel{theta, runs.empty() ? 0.0 : solved / n, runs.empty() ? 0.0 : tokens / n});
  }
  return out;
}

namespace {

enum class Rule { kMajority, kBestOfN };

// Expected correctness of the rule's pick among the samples in `mask`.
double pick_correct(const SampledQuery& q, std::uint32_t mask, Rule rule) {
  if (rule == Rule::kBestOfN) {
    double best = 0.0;
    double correct = 0.0;
    double tied = 0.0;
    bool any = false;
    for (std::size_t i = 0; i < q.size(); ++i) {
      if ((mask >> i & 1U) == 0) continue;
      if (!any || q[i].reward > best) {
        any = true;
        best = q[i].reward;
        correct = q[i].correct ? 1.0 : 0.0;
        tied = 1.0;
      } else if (q[i].reward == best) {
        correct += q[i].correct ? 1.0 : 0.0;
        tied += 1.0;
      }
    }
    return tied > 0.0 ? correct / tied : 0.0;
  }
  // Majority vote over non-empty predictions; a prediction's correctness is that of its first
  // sample (graders mark equal predictions alike).
  std::map<std::string, std::pair<int, bool>> votes;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if ((mask >> i & 1U) == 0 || q[i].prediction.empty()) continue;
    auto [it, inserted] = votes.try_emplace(q[i].prediction, 0, q[i].correct);
    ++it->second.first;
  }
  int top = 0;
  for (const auto& [prediction, v] : votes) top = std::max(top, v.first);
  double correct = 0.0;
  double tied = 0.0;
  for (const auto& [prediction, v] : votes) {
    if (v.first != top) continue;
    tied += 1.0;
    if (v.second) correct += 1.0;
  }
  return tied > 0.0 ? correct / tied : 0.0;
}

std::vector<ComputeLevel> vote_curve(std::span<const SampledQuery> queries,
                                     std::span<const double> ns, Rule rule) {
  std::vector<ComputeLevel> out;
  out.reserve(ns.size());
  for (double n_value : ns) {
    const auto n = static_cast<unsigned>(n_value);
    double accuracy = 0.0;
    double tokens = 0.0;
    for (const SampledQuery& q : queries) {
      const auto m = static_cast<unsigned>(std::min(q.size(), kMaxSamplesPerQuery));
      double sum = 0.0;
      double subsets = 0.0;
      double mean_tokens = 0.0;
      for (unsigned i = 0; i < m; ++i) mean_tokens += q[i].output_tokens;
      mean_tokens /= std::max(1U, m);
      for (std::uint32_t mask = 0; mask < (1U << m); ++mask) {
        if (static_cast<unsigned>(std::popcount(mask)) != n) continue;
        sum += pick_correct(q, mask, rule);
        subsets += 1.0;
      }
      accuracy += subsets > 0.0 ? sum / subsets : 0.0;
      tokens += n_value * mean_tokens;
    }
    const double count = static_cast<double>(std::max<std::size_t>(1, queries.size()));
    out.push_back(ComputeLevel{n_value, accuracy / count, tokens / count});
  }
  return out;
}

}  // namespace

std::vector<ComputeLevel> majority_vote_curve(std::span<const SampledQuery> queries,
                                              std::span<const double> ns) {
  return vote_curve(queries, ns, Rule::kMajority);
}

std::vector<ComputeLevel> best_of_n_curve(std::span<const SampledQuery> queries,
                                          std::span<const double> ns) {
  return vote_curve(queries, ns, Rule::kBestOfN);
}

}  // namespace clearhouse::market
