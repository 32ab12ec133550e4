// Replaying progressive continuation (core/progressive.h) against recorded answers.
//
// Greedy answers are deterministic, so continuation is exact in replay: a query with recorded
// length d, continued from a generated tokens with a slice of cap c, yields min(c, d - a) more
// tokens and finishes iff d <= a + c. Every round's generated tokens are charged to the budget; the
// slices are served one at a time (the scheduler's order), so a slice's unused cap returns to the
// budget before the next one is chosen. A query is solved iff it finished within its max_tokens and
// its recorded answer is correct. Abandoned: never served. A query started but never finished
// wastes what it generated.
//
// The priors: ln d ~ N(ln tau_hat, log_sigma) from the predictor; p = 1, or clear-plus's calibrated
// p_correct, optionally with its correct-answer length (ProgressiveSettings). No I/O, no
// randomness.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/progressive.h"
#include "eval/replay.h"

namespace clearhouse::eval {

// What the priors know about correctness.
enum class CorrectnessBelief {
  kNone,           // p = 1: maximise finished answers
  kPCorrect,       // p from clear-plus's calibration
  kCorrectLength,  // p and the length of a correct answer (a long-running query loses p)
};

struct ProgressiveSettings {
  std::int64_t max_cap = 4096;  // every query's max_tokens (the recorded runs' cap)
  CorrectnessBelief correctness = CorrectnessBelief::kCorrectLength;  // bench's `progressive`
};

// One served slice, as the trace records it.
struct ServedSlice {
  core::Slice slice;
  std::int64_t generated = 0;
  bool finished = false;
};

struct ProgressiveOutcome {
  // allocated = tokens charged to the budget (equal to consumed: a slice's unused cap is returned).
  ReplayOutcome outcome;
  std::size_t slices = 0;          // requests a real run would have made
  std::size_t unfinished = 0;      // queries served at least once that never finished
  double wasted = 0.0;             // tokens generated for those
  std::vector<ServedSlice> trace;  // filled only when asked for
};

// The priors the replay gives the scheduler for these items.
[[nodiscard]] std::vector<core::LengthPrior> progressive_priors(
    std::span<const ReplayItem> items, const ProgressiveSettings& settings);

// budget: total tokens >= 0.
[[nodiscard]] ProgressiveOutcome replay_progressive(std::span<const ReplayItem> items,
                                                    std::int64_t budget,
                                                    const ProgressiveSettings& settings,
                                                    bool keep_trace = false);

}  // namespace clearhouse::eval
