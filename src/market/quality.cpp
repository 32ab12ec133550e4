#include "market/quality.h"

#include <cmath>
#include <string>

namespace clearhouse::market {

std::string_view to_string(ValueCurve curve) {
  switch (curve) {
    case ValueCurve::kLinear: return "linear";
    case ValueCurve::kPower: return "power";
    case ValueCurve::kExp: return "exp";
  }
  return "?";
}

std::optional<ValueCurve> parse_value_curve(std::string_view name) {
  if (name == "linear") return ValueCurve::kLinear;
  if (name == "power") return ValueCurve::kPower;
  if (name == "exp") return ValueCurve::kExp;
  return std::nullopt;
}

double QualityModel::value_share(double accuracy) const {
  switch (curve) {
    case ValueCurve::kLinear: return accuracy;
    case ValueCurve::kPower: return std::pow(accuracy, gamma);
    case ValueCurve::kExp: return std::expm1(kappa * accuracy) / std::expm1(kappa);
  }
  return accuracy;
}

double QualityModel::quality(double accuracy) const {
  return scale * (baseline + (1.0 - baseline) * value_share(accuracy));
}

std::string QualityModel::validate() const {
  if (!std::isfinite(scale) || scale <= 0.0) return "scale A must be a finite number > 0";
  if (!std::isfinite(baseline) || baseline < 0.0 || baseline > 1.0) {
    return "baseline b must be in [0, 1]";
  }
  if (!std::isfinite(gamma) || gamma <= 0.0) return "gamma must be a finite number > 0";
  if (!std::isfinite(kappa) || kappa == 0.0 || std::abs(kappa) > 700.0) {
    return "kappa must be a finite non-zero number with |kappa| <= 700";
  }
  return {};
}

}  // namespace clearhouse::market
