#include "core/utility_model.h"

#include <algorithm>
#include <cassert>
#include <numbers>

namespace clearhouse::core {

std::string_view to_string(UtilityShape shape) {
  return shape == UtilityShape::kPaper ? "paper" : "scaled";
}

std::optional<UtilityShape> parse_utility_shape(std::string_view name) {
  if (name == "paper") return UtilityShape::kPaper;
  if (name == "scaled") return UtilityShape::kScaled;
  return std::nullopt;
}

double median(std::span<const double> values) {
  if (values.empty()) return 0.0;
  std::vector<double> v(values.begin(), values.end());
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

std::vector<SurgeUtility> build_utilities(std::span<const double> tau, const UtilityModel& model,
                                          std::span<const double> value) {
  assert(value.empty() || value.size() == tau.size());
  std::vector<SurgeUtility> out(tau.size());
  if (model.shape == UtilityShape::kPaper) {
    const double beta = model.beta > 0.0 ? model.beta : 1.0 / median(tau);
    for (std::size_t i = 0; i < tau.size(); ++i) out[i] = {tau[i], model.alpha, beta};
    return out;
  }
  for (std::size_t i = 0; i < tau.size(); ++i) {
    const double beta = model.kappa / tau[i];
    const double v = value.empty() ? 1.0 : value[i];
    out[i] = {tau[i], v * std::numbers::e * beta, beta};
  }
  return out;
}

}  // namespace clearhouse::core
