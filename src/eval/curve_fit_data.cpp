#include "eval/curve_fit_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <stdexcept>

#include "eval/streams.h"

namespace clearhouse::eval {
namespace {

struct Tally {
  std::vector<std::int64_t> correct_lengths;
  std::size_t items = 0;
};

NamedCurve make(std::string source, std::string name, Tally tally, std::span<const double> grid) {
  NamedCurve c;
  c.source = std::move(source);
  c.name = std::move(name);
  c.items = tally.items;
  c.correct = tally.correct_lengths.size();
  c.curve = accuracy_curve(std::move(tally.correct_lengths), tally.items, grid);
  return c;
}

}  // namespace

std::vector<double> geometric_grid(double lo, double hi, std::size_t points) {
  if (!(lo > 0) || !(hi > lo) || points < 2) {
    throw std::invalid_argument("geometric_grid: need 0 < lo < hi and at least 2 points");
  }
  std::vector<double> grid(points);
  const double step = std::log(hi / lo) / static_cast<double>(points - 1);
  for (std::size_t i = 0; i < points; ++i) grid[i] = lo * std::exp(step * static_cast<double>(i));
  grid.back() = hi;
  return grid;
}

Curve accuracy_curve(std::vector<std::int64_t> correct_lengths, std::size_t total,
                     std::span<const double> grid) {
  if (total == 0) throw std::invalid_argument("accuracy_curve: no items");
  std::sort(correct_lengths.begin(), correct_lengths.end());
  Curve c;
  c.t.assign(grid.begin(), grid.end());
  c.y.reserve(grid.size());
  std::size_t within = 0;
  for (const double t : grid) {
    while (within < correct_lengths.size() && static_cast<double>(correct_lengths[within]) <= t) {
      ++within;
    }
    c.y.push_back(static_cast<double>(within) / static_cast<double>(total));
  }
  return c;
}

std::vector<NamedCurve> zeroeval_curves(const data::Dataset& dataset, std::uint32_t model,
                                        std::span<const double> grid) {
  std::array<Tally, kTierCount> tiers;
  Tally all;
  std::map<std::string, Tally> by_dataset;
  for (const data::Run& run : dataset.runs_of_model(model)) {
    const data::Question& q = dataset.question(run.question);
    Tally& tier = tiers[static_cast<std::size_t>(tier_of(q.solve_rate))];
    Tally& ds = by_dataset[q.dataset];
    for (Tally* t : {&tier, &all, &ds}) {
      ++t->items;
      if (run.correct) t->correct_lengths.push_back(run.output_tokens);
    }
  }
  const std::string source = "zeroeval:" + dataset.models()[model];
  std::vector<NamedCurve> out;
  for (std::size_t t = 0; t < kTierCount; ++t) {
    if (tiers[t].items == 0) continue;
    out.push_back(
        make(source, std::string(to_string(static_cast<Tier>(t))), std::move(tiers[t]), grid));
  }
  if (all.items > 0) out.push_back(make(source, "all", std::move(all), grid));
  for (auto& [name, tally] : by_dataset) {
    out.push_back(make(source, "dataset:" + name, std::move(tally), grid));
  }
  return out;
}

NamedCurve pooled_sample_curve(const data::MathSamples& samples, std::span<const double> grid) {
  Tally all;
  for (const data::MathSample& s : samples.samples()) {
    ++all.items;
    if (s.correct) all.correct_lengths.push_back(s.output_tokens);
  }
  if (all.items == 0) throw std::invalid_argument("pooled_sample_curve: no samples");
  return make("qwen25-math-samples", "pooled", std::move(all), grid);
}

std::vector<NamedCurve> question_curves(const data::MathSamples& samples, std::size_t points) {
  if (points < 3) throw std::invalid_argument("question_curves: need at least 3 points");
  std::vector<NamedCurve> out;
  for (std::size_t q = 0; q < samples.question_count(); ++q) {
    const auto group = samples.samples_of(q);
    if (group.empty()) continue;
    Tally tally;
    std::int64_t shortest = group.front().output_tokens, longest = shortest;
    for (const data::MathSample& s : group) {
      ++tally.items;
      if (s.correct) tally.correct_lengths.push_back(s.output_tokens);
      shortest = std::min(shortest, s.output_tokens);
      longest = std::max(longest, s.output_tokens);
    }
    const double lo = std::max(0.5 * static_cast<double>(shortest), 1.0);
    const double hi = std::max(2.0 * static_cast<double>(longest), 2.0 * lo);
    out.push_back(make("qwen25-math-samples", "q:" + samples.question(q).qid, std::move(tally),
                       geometric_grid(lo, hi, points)));
  }
  return out;
}

}  // namespace clearhouse::eval
