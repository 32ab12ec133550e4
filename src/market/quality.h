// Quality of an answer as a function of accuracy (Test-Time Compute Games):
//
//   q(a) = A (b + (1 - b) f(a)),  A = scale (USD), b = baseline share of value a wrong answer
//   keeps, f linear:  f(a) = a f power:   f(a) = a^gamma                                  (gamma
//   = 3.5 in the paper) f exp:     f(a) = (e^{kappa a} - 1) / (e^{kappa} - 1)       (kappa = 6 in
//   the paper)
//
// f is increasing with f(0) = 0 and f(1) = 1, so q ranges over [A b, A]. Quality is in the same
// currency as prices (USD): it is what a user is willing to pay for the answer.
#pragma once

#include <optional>
#include <string_view>

namespace clearhouse::market {

enum class ValueCurve { kLinear, kPower, kExp };

[[nodiscard]] std::string_view to_string(ValueCurve curve);
[[nodiscard]] std::optional<ValueCurve> parse_value_curve(std::string_view name);

struct QualityModel {
  ValueCurve curve = ValueCurve::kLinear;
  double scale = 10.0;    // A, USD
  double baseline = 0.1;  // b, in [0, 1]
  double gamma = 3.5;     // exponent of the power curve, > 0
  double kappa = 6.0;     // steepness of the exp curve, != 0

  // f(a) for a in [0, 1].
  [[nodiscard]] double value_share(double accuracy) const;
  // q(a) = A (b + (1 - b) f(a)), USD.
  [[nodiscard]] double quality(double accuracy) const;
  // Empty when the parameters are usable, else a one-line reason.
  [[nodiscard]] std::string validate() const;
};

}  // namespace clearhouse::market
