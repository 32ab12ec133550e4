// Compute curves from per-query records (pure functions; the CLI loads the records).
//
// Token-capped reasoning (one model answering greedily, theta = an output-token cap):
//   accuracy(theta) = share of queries answered correctly with d <= theta   (a cut answer is wrong)
//   tokens(theta)   = mean over queries of min(d, theta)                    (output tokens)
// where d is the query's recorded output length.
//
// Repeated sampling (N samples per query, theta = N):
//   majority vote@N: the most frequent non-empty prediction among the N samples wins;
//   best-of-N@N: the sample with the highest reward score wins.
//   tokens(N) = mean over queries of the N samples' total output tokens (the reward model's own
//   compute is not counted).
// Accuracy is the exact expectation over every size-N subset of a query's samples (ties between
// answers or rewards split the credit evenly), so it does not depend on sample order.
//
// Example:
//   std::vector<ComputeLevel> c = token_capped_curve(runs, std::vector<double>{64, 256, 1024});
#pragma once

#include <span>
#include <string>
#include <vector>

#include "market/provider.h"

namespace clearhouse::market {

struct CappedRun {
  double output_tokens = 0.0;  // d, >= 0
  bool correct = false;        // correct when generated in full
};

// thetas strictly increasing and > 0; runs non-empty.
[[nodiscard]] std::vector<ComputeLevel> token_capped_curve(std::span<const CappedRun> runs,
                                                           std::span<const double> thetas);

struct Sample {
  double output_tokens = 0.0;
  std::string prediction;  // empty: no answer (never wins a vote)
  bool correct = false;
  double reward = 0.0;
};

// The samples of one query, at most 20 of them (subsets are enumerated).
using SampledQuery = std::vector<Sample>;

inline constexpr std::size_t kMaxSamplesPerQuery = 20;

// Ns strictly increasing, each in [1, size of the smallest query]; queries non-empty.
[[nodiscard]] std::vector<ComputeLevel> majority_vote_curve(std::span<const SampledQuery> queries,
                                                            std::span<const double> ns);
[[nodiscard]] std::vector<ComputeLevel> best_of_n_curve(std::span<const SampledQuery> queries,
                                                        std::span<const double> ns);

}  // namespace clearhouse::market
