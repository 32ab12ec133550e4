#include "gateway/accuracy_curve.h"

#include <cassert>
#include <cmath>
#include <string>
#include <utility>

namespace clearhouse::gateway {

AccuracyCurve::AccuracyCurve(std::vector<AccuracyPoint> points) : points_(std::move(points)) {
  assert(validate(points_).empty());
}

std::string AccuracyCurve::validate(const std::vector<AccuracyPoint>& points) {
  for (std::size_t i = 0; i < points.size(); ++i) {
    const AccuracyPoint& p = points[i];
    if (!(std::isfinite(p.tokens) && p.tokens > 0.0)) {
      return "point " + std::to_string(i) + ": tokens must be a positive number";
    }
    if (i > 0 && !(p.tokens > points[i - 1].tokens)) {
      return "point " + std::to_string(i) + ": tokens must be strictly increasing";
    }
    if (!(p.accuracy >= 0.0 && p.accuracy <= 1.0)) {
      return "point " + std::to_string(i) + ": accuracy must be in [0, 1]";
    }
  }
  return {};
}

double AccuracyCurve::at(double tokens) const {
  if (points_.empty()) return 1.0;
  if (!(tokens > 0.0)) return 0.0;
  const AccuracyPoint& first = points_.front();
  if (tokens <= first.tokens) return first.accuracy * tokens / first.tokens;
  for (std::size_t i = 1; i < points_.size(); ++i) {
    const AccuracyPoint& hi = points_[i];
    if (tokens <= hi.tokens) {
      const AccuracyPoint& lo = points_[i - 1];
      const double w = std::log(tokens / lo.tokens) / std::log(hi.tokens / lo.tokens);
      return lo.accuracy + w * (hi.accuracy - lo.accuracy);
    }
  }
  return points_.back().accuracy;
}

}  // namespace clearhouse::gateway
