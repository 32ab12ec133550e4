// Replaying a plan against recorded answers (greedy decoding): a query with cap t is solved iff its
// recorded answer was correct at full length and its true length d <= t (a truncated answer is
// wrong). Tokens consumed: min(t, d); an abandoned query (t = 0) consumes nothing.
#pragma once

#include <cstdint>
#include <span>

namespace clearhouse::eval {

// What the replay knows about one query of a stream. Predictions are what policies may use;
// true_tokens and correct are the recorded outcome (only the oracle may read them).
struct ReplayItem {
  double tau_hat = 1.0;         // predicted length, tokens
  double log_sigma = 0.5;       // predicted spread of ln(length)
  double teacher_tokens = 1.0;  // TALE-EP's teacher estimate, tokens
  double p_correct = 1.0;       // predicted probability of a right answer (clear-plus)
  double log_mu_correct = 0.0;  // predicted mean ln(length) of a right answer (clear-plus)
  double log_sigma_correct = 0.5;
  double true_tokens = 0.0;  // recorded length, tokens
  bool correct = false;      // recorded correctness at full length
};

struct ReplayOutcome {
  std::size_t solved = 0;
  std::size_t abandoned = 0;
  std::size_t requests = 0;    // requests a real run would make: one per funded query (one-shot)
  std::int64_t allocated = 0;  // sum of caps
  double consumed = 0.0;       // sum of min(cap, true length)
  [[nodiscard]] double accuracy(std::size_t n) const {
    return n == 0 ? 0.0 : static_cast<double>(solved) / static_cast<double>(n);
  }
};

[[nodiscard]] ReplayOutcome replay(std::span<const ReplayItem> items,
                                   std::span<const std::int64_t> caps);

}  // namespace clearhouse::eval
