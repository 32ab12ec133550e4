// clear-plus, the allocation core: caps that maximise the expected number of solved queries.
//
// Query i is solved with cap t when the model answers it correctly (probability p_i) and its answer
// fits (length d_i <= t). With a log-normal belief about the length of a correct answer,
// ln d_i ~ N(mu_i, sigma_i^2), the expected value of a cap is
//
//   f_i(t) = p_i Phi((ln t - mu_i) / sigma_i),   f_i(0) = 0,
//
// an S-shaped curve: tokens below the likely length buy little, as in CLEAR's shifted surge, but
// here the curve is the success probability itself, so maximising sum f_i is maximising accuracy.
//
// Algorithm: each query's f_i is sampled on a grid of whole-token caps (0 and exp(mu_i + sigma_i z)
// for z in [-3, 4]); its upper concave hull from (0, 0) is a list of segments with falling slopes
// (success probability per token). All segments of all queries are taken in order of slope while
// the budget lasts; a segment that no longer fits ends its query. This is the Lagrangian
// (shadow-price) solution on the concave envelope, followed by a greedy fill. Queries left at 0 are
// abandoned. What remains after every hull is exhausted is spread one token at a time over the
// funded queries.
//
// Units: caps in tokens; mu, sigma in natural-log tokens; p in [0, 1]. Deterministic (ties by
// index).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace clearhouse::core {

struct SuccessBelief {
  double p_correct = 1.0;  // probability the full-length answer is right, [0, 1]
  double log_mu = 0.0;     // mean of ln(length of a correct answer)
  double log_sigma = 0.5;  // std of ln(length), > 0
};

struct ExpectedSuccessPlan {
  std::vector<std::int64_t> caps;  // whole tokens
  std::int64_t allocated = 0;
  double expected_successes = 0.0;  // sum f_i(cap_i)
  double shadow_price = 0.0;        // slope of the last segment taken (success per token)
};

// budget: total tokens >= 0. max_cap: no cap above this (e.g. the model's max_tokens).
[[nodiscard]] ExpectedSuccessPlan allocate_expected_successes(
    std::span<const SuccessBelief> beliefs, std::int64_t budget, std::int64_t max_cap = 1 << 20);

// f(t) for one belief.
[[nodiscard]] double success_probability(const SuccessBelief& belief, double cap);

}  // namespace clearhouse::core
