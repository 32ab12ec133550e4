// Where the executor's slices come from: the progressive scheduler (core/progressive.h) or a
// one-shot plan (caps computed up front by core::run_policy). Both reserve a slice's cap out of the
// budget before it is handed out, so the tokens charged never pass the budget, whatever is in
// flight.
//
// Outcomes of a slice, one of:
//   settle(slice, tokens, finished)  an answer came back: charge tokens, release the rest
//   release(slice)                   nothing was generated (a refusal): retry later, nothing
//   charged charge_and_retry(slice)          the request may have generated up to its cap (timeout,
//   broken
//                                    connection): charge the cap, retry later
//   drop(slice, charge)              never serve this query again, charging `charge` (<= cap)
//
// Units: tokens. Thread-safety: none (the dispatcher owns it).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "core/progressive.h"

namespace clearhouse::run {

class SliceSource {
 public:
  virtual ~SliceSource() = default;
  // The next slice, its cap reserved; nullopt when nothing fits now (over when in_flight() == 0).
  [[nodiscard]] virtual std::optional<core::Slice> next() = 0;
  virtual void settle(const core::Slice& slice, std::int64_t tokens, bool finished) = 0;
  virtual void release(const core::Slice& slice) = 0;
  virtual void charge_and_retry(const core::Slice& slice) = 0;
  virtual void drop(const core::Slice& slice, std::int64_t charge) = 0;
  // Whether a cut answer may be served again (continued); false for one-shot plans.
  [[nodiscard]] virtual bool continues() const = 0;
  [[nodiscard]] virtual std::size_t in_flight() const = 0;
  [[nodiscard]] virtual std::int64_t spent() const = 0;
};

// Progressive continuation. caps[i]: the most query i may generate over all its slices; kept[i]
// (empty: none): tokens it generated and kept in an earlier run, so its index is conditioned on
// them and its next slice continues from there (kept[i] == caps[i]: done); budget: tokens left.
// continuation = false: a cut answer is not continued (one slice per query, chosen by the index).
[[nodiscard]] std::unique_ptr<SliceSource> progressive_source(std::vector<core::LengthPrior> priors,
                                                              std::vector<std::int64_t> caps,
                                                              std::vector<std::int64_t> kept,
                                                              std::int64_t budget,
                                                              bool continuation);

// A one-shot plan: caps[i] (0 = not served), served in query order, each once; a cap is lowered to
// what is left unreserved only when nothing else is in flight (the plan fits the budget unless
// failures were charged).
[[nodiscard]] std::unique_ptr<SliceSource> plan_source(std::vector<std::int64_t> caps,
                                                       std::int64_t budget);

}  // namespace clearhouse::run
