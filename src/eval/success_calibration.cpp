#include "eval/success_calibration.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace clearhouse::eval {
namespace {

constexpr double kShrinkExamples = 20.0;  // pseudo-examples pulling a bin toward its group's rate
constexpr double kMinSpread = 0.15;       // ln tokens; no belief is sharper than this

SuccessCalibration::Group fit_group(std::vector<const CalibrationExample*> xs) {
  SuccessCalibration::Group g;
  g.examples = xs.size();
  std::sort(xs.begin(), xs.end(),
            [](auto* a, auto* b) { return a->predicted_log < b->predicted_log; });
  double overall = 0.0;
  for (auto* x : xs) overall += x->correct;
  overall = (overall + 0.5) / (static_cast<double>(xs.size()) + 1.0);
  const int bins = SuccessCalibration::kBins;
  for (int k = 1; k < bins; ++k) {
    g.edges.push_back(xs[xs.size() * static_cast<std::size_t>(k) / bins]->predicted_log);
  }
  std::vector<double> hits(bins, 0.0), count(bins, 0.0);
  double shift = 0.0, n_correct = 0.0;
  for (auto* x : xs) {
    const auto bin = static_cast<std::size_t>(
        std::upper_bound(g.edges.begin(), g.edges.end(), x->predicted_log) - g.edges.begin());
    count[bin] += 1.0;
    if (x->correct) {
      hits[bin] += 1.0;
      shift += std::log(std::max(1.0, x->true_tokens)) - x->predicted_log;
      n_correct += 1.0;
    }
  }
  for (int k = 0; k < bins; ++k) {
    g.p_bin.push_back((hits[k] + kShrinkExamples * overall) / (count[k] + kShrinkExamples));
  }
  if (n_correct > 0.0) g.shift = shift / n_correct;
  double var = 0.0;
  for (auto* x : xs) {
    if (!x->correct) continue;
    const double r = std::log(std::max(1.0, x->true_tokens)) - x->predicted_log - g.shift;
    var += r * r;
  }
  g.spread = n_correct > 1.0 ? std::max(kMinSpread, std::sqrt(var / (n_correct - 1.0))) : 0.5;
  return g;
}

}  // namespace

SuccessCalibration SuccessCalibration::fit(std::span<const CalibrationExample> examples) {
  if (examples.empty()) throw std::invalid_argument("success calibration needs examples");
  SuccessCalibration c;
  std::map<std::string, std::vector<const CalibrationExample*>, std::less<>> by_dataset;
  std::vector<const CalibrationExample*> all;
  for (const auto& x : examples) {
    by_dataset[std::string(x.dataset)].push_back(&x);
    all.push_back(&x);
  }
  c.pooled_ = fit_group(all);
  for (auto& [name, xs] : by_dataset) {
    if (xs.size() >= static_cast<std::size_t>(4 * kBins)) c.groups_[name] = fit_group(xs);
  }
  return c;
}

core::SuccessBelief SuccessCalibration::belief(std::string_view dataset,
                                               double predicted_log) const {
  const auto it = groups_.find(dataset);
  const Group& g = it == groups_.end() ? pooled_ : it->second;
  const auto bin = static_cast<std::size_t>(
      std::upper_bound(g.edges.begin(), g.edges.end(), predicted_log) - g.edges.begin());
  return {g.p_bin[bin], predicted_log + g.shift, g.spread};
}

namespace {

nlohmann::json group_json(const SuccessCalibration::Group& g) {
  return {{"edges", g.edges},
          {"p_bin", g.p_bin},
          {"shift", g.shift},
          {"spread", g.spread},
          {"examples", g.examples}};
}

SuccessCalibration::Group group_from(const nlohmann::json& j, const std::string& where) {
  SuccessCalibration::Group g;
  try {
    g.edges = j.at("edges").get<std::vector<double>>();
    g.p_bin = j.at("p_bin").get<std::vector<double>>();
    g.shift = j.at("shift").get<double>();
    g.spread = j.at("spread").get<double>();
    g.examples = j.at("examples").get<std::size_t>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(where + ": " + e.what());
  }
  const bool sizes_ok = g.p_bin.size() == g.edges.size() + 1 && !g.p_bin.empty();
  bool values_ok = std::isfinite(g.shift) && g.spread > 0.0;
  for (double p : g.p_bin) values_ok = values_ok && p >= 0.0 && p <= 1.0;
  if (!sizes_ok || !values_ok) throw std::invalid_argument(where + ": inconsistent group");
  return g;
}

}  // namespace

nlohmann::json SuccessCalibration::to_json() const {
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [name, g] : groups_) groups[name] = group_json(g);
  return {{"format", "clearhouse-success-calibration"},
          {"version", 1},
          {"pooled", group_json(pooled_)},
          {"datasets", groups}};
}

SuccessCalibration SuccessCalibration::from_json(const nlohmann::json& j) {
  if (!j.is_object() || j.value("format", "") != "clearhouse-success-calibration") {
    throw std::invalid_argument("not a clearhouse success calibration (key 'format')");
  }
  if (j.value("version", 0) != 1)
    throw std::invalid_argument("unsupported version (key 'version')");
  SuccessCalibration c;
  if (!j.contains("pooled")) throw std::invalid_argument("missing key 'pooled'");
  c.pooled_ = group_from(j.at("pooled"), "pooled");
  if (j.contains("datasets")) {
    for (const auto& [name, g] : j.at("datasets").items()) {
      c.groups_[name] = group_from(g, "datasets." + name);
    }
  }
  return c;
}

}  // namespace clearhouse::eval
