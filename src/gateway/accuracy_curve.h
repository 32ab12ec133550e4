// AccuracyCurve: an upstream's expected accuracy (probability of a right answer, in [0, 1]) as a
// function of the completion-token cap it is given, from a few measured points. Used by the auction
// that picks an upstream per request (upstream_auction.h): an upstream's expected quality at a cap
// is value_usd * accuracy(cap).
//
// Between points the accuracy is linear in log(tokens) (reasoning curves rise roughly with the log
// of the budget); below the first point it falls linearly in tokens to 0 at 0 tokens; beyond the
// last point it stays flat. An empty curve means "unknown" and reads as 1 everywhere, so upstreams
// without curves compete on price alone.
//
//   AccuracyCurve curve({{256, 0.40}, {1024, 0.72}, {4096, 0.81}});
//   double a = curve.at(512);   // 0.56
#pragma once

#include <string>
#include <vector>

namespace clearhouse::gateway {

struct AccuracyPoint {
  double tokens = 0.0;    // completion-token cap, > 0
  double accuracy = 0.0;  // in [0, 1]
};

class AccuracyCurve {
 public:
  AccuracyCurve() = default;
  // Points must pass validate(); they are kept in the order given (ascending tokens).
  explicit AccuracyCurve(std::vector<AccuracyPoint> points);

  // "" when valid, else what is wrong: tokens not positive and strictly increasing, or an accuracy
  // outside [0, 1] (with the index of the offending point).
  [[nodiscard]] static std::string validate(const std::vector<AccuracyPoint>& points);

  [[nodiscard]] double at(double tokens) const;
  [[nodiscard]] bool empty() const { return points_.empty(); }
  [[nodiscard]] const std::vector<AccuracyPoint>& points() const { return points_; }

 private:
  std::vector<AccuracyPoint> points_;
};

}  // namespace clearhouse::gateway
