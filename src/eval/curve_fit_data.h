// Empirical accuracy-versus-tokens curves from recorded answers, ready for curve_fit.h.
//
// accuracy(t) = (items answered correctly with output length <= t) / (all items), for token caps t
// on a grid: the share a cap of t tokens would keep correct when a truncated answer counts as
// wrong.
//   * ZeroEval (greedy, one answer per model and question): one curve per difficulty tier of
//     streams.h (easy, medium, hard; from the cross-model solve rate), one over all the model's
//     questions, and one per dataset (e.g. gsm, math-l5). Items: the questions the model answered.
//   * Qwen2.5-Math samples: a pooled curve over every sample, and one curve per question (items:
//   its
//     samples), each on its own geometric grid from half its shortest to twice its longest sample,
//     so the points sit where the curve moves.
// Pure: takes loaded data, returns curves. Token counts are output tokens of the model's tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/math_samples.h"
#include "eval/curve_fit.h"

namespace clearhouse::eval {

// `points` caps from lo to hi (tokens, 0 < lo < hi), equally spaced in ln t. points >= 2.
[[nodiscard]] std::vector<double> geometric_grid(double lo, double hi, std::size_t points);

// The share of `total` items whose correct answer fits each cap: correct_lengths holds the output
// lengths of the correct items (any order). total > 0.
[[nodiscard]] Curve accuracy_curve(std::vector<std::int64_t> correct_lengths, std::size_t total,
                                   std::span<const double> grid);

struct NamedCurve {
  std::string source;       // "zeroeval:<model>" or "qwen25-math-samples"
  std::string name;         // "easy", "medium", "hard", "all", "dataset:gsm", "pooled", "q:<qid>"
  std::size_t items = 0;    // questions (ZeroEval) or samples behind the curve
  std::size_t correct = 0;  // of which correct at full length
  Curve curve;
};

// Tier, all and per-dataset curves of one model; tiers with no answered question are left out.
[[nodiscard]] std::vector<NamedCurve> zeroeval_curves(const data::Dataset& dataset,
                                                      std::uint32_t model,
                                                      std::span<const double> grid);

[[nodiscard]] NamedCurve pooled_sample_curve(const data::MathSamples& samples,
                                             std::span<const double> grid);

// One curve per question with `points` caps each (points >= 3), in the file's question order.
[[nodiscard]] std::vector<NamedCurve> question_curves(const data::MathSamples& samples,
                                                      std::size_t points);

}  // namespace clearhouse::eval
