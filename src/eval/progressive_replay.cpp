#include "eval/progressive_replay.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace clearhouse::eval {

std::vector<core::LengthPrior> progressive_priors(std::span<const ReplayItem> items,
                                                  const ProgressiveSettings& settings) {
  std::vector<core::LengthPrior> priors(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    priors[i].log_mu = std::log(items[i].tau_hat);
    priors[i].log_sigma = items[i].log_sigma;
    if (settings.correctness == CorrectnessBelief::kNone) continue;
    priors[i].p_correct = items[i].p_correct;
    if (settings.correctness == CorrectnessBelief::kCorrectLength) {
      priors[i].correct = core::CorrectLength{items[i].log_mu_correct, items[i].log_sigma_correct};
    }
  }
  return priors;
}

ProgressiveOutcome replay_progressive(std::span<const ReplayItem> items, std::int64_t budget,
                                      const ProgressiveSettings& settings, bool keep_trace) {
  core::ProgressiveScheduler scheduler(progressive_priors(items, settings),
                                       std::vector<std::int64_t>(items.size(), settings.max_cap),
                                       budget);
  ProgressiveOutcome result;
  while (const auto slice = scheduler.next()) {
    // Recorded lengths are whole tokens; a length of 0 still takes one token to end.
    const auto length = std::max<std::int64_t>(1, std::llround(items[slice->query].true_tokens));
    const std::int64_t remaining = length - slice->offset;
    assert(remaining > 0);
    const std::int64_t generated = std::min(slice->cap, remaining);
    const bool finished = remaining <= slice->cap;
    scheduler.complete(*slice, generated, finished);
    ++result.slices;
    if (keep_trace) result.trace.push_back({*slice, generated, finished});
  }
  ReplayOutcome& out = result.outcome;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto spent = scheduler.generated(i);
    out.consumed += static_cast<double>(spent);
    if (scheduler.rounds(i) == 0) ++out.abandoned;
    if (scheduler.finished(i)) {
      if (items[i].correct) ++out.solved;
    } else if (spent > 0) {
      ++result.unfinished;
      result.wasted += static_cast<double>(spent);
    }
  }
  out.allocated = scheduler.spent();
  out.requests = result.slices;
  return result;
}

}  // namespace clearhouse::eval
