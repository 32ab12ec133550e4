// Curve fitting for accuracy-versus-tokens curves: does the paper's shifted-surge utility describe
// how accuracy grows with an output-token cap, and do simpler shapes describe it better?
//
// An empirical curve is y(t) at increasing token caps t > 0 (tokens), y a share in [0, 1] (e.g. the
// share of questions answered correctly within t tokens). Every family below has three parameters
// and is fitted by least squares (Levenberg-Marquardt with Marquardt scaling, box bounds, several
// data-driven starts; the best start wins). Goodness of fit: RSS, RMSE and the Gaussian-likelihood
// AIC = n ln(RSS/n) + 2k. Pure: no I/O, no randomness, deterministic.
//
// Families (t in tokens, a an asymptote in [0, 1]):
//   surge-phi     alpha (t - tau) e^{-beta (t - tau)} for t >= tau, else 0. The paper's utility
//   used
//                 as-is as an accuracy model: it peaks at t = tau + 1/beta and then decays.
//   surge-capped  phi up to its peak and flat after: a e beta s e^{-beta s}, s = min(t - tau,
//   1/beta),
//                 for t >= tau, else 0 (peak height a). CLEAR never funds a query beyond its peak
//                 (phi' = lambda > 0 there), so this is the part of phi that drives the allocation.
//   surge-cdf     a (1 - (1 + beta (t - tau)) e^{-beta (t - tau)}) for t >= tau, else 0. The
//                 monotone "integral" reading: its derivative a beta^2 (t - tau) e^{-beta (t -
//                 tau)} is a shifted surge, i.e. the surge is the density of the accuracy gain per
//                 token.
//   log-logistic  a / (1 + (t / t50)^{-k}): a logistic in ln t.
//   power-law     a (1 - (t / tau)^{-k}) for t > tau, else 0: a saturating power law.
//   shifted-exp   a (1 - e^{-beta (t - tau)}) for t >= tau, else 0.
//   log-normal    a Phi((ln t - mu) / sigma): the curve if correct answers' lengths were
//   log-normal.
//
//   Curve c{{16, 32, 64, 128}, {0, 0.2, 0.6, 0.7}};
//   std::vector<FitResult> fits = fit_all(c);            // one per family, in all_families() order
//   const FitResult& best = fits[best_by_aic(fits)];
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearhouse::eval {

enum class CurveFamily {
  kSurgePhi,
  kSurgeCapped,
  kSurgeCdf,
  kLogLogistic,
  kPowerLaw,
  kShiftedExp,
  kLogNormal
};

[[nodiscard]] std::span<const CurveFamily> all_families();
[[nodiscard]] std::string_view to_string(CurveFamily family);
[[nodiscard]] std::optional<CurveFamily> find_family(std::string_view name);
// Names of the natural parameters, in the order FitResult::params holds them.
[[nodiscard]] std::span<const std::string_view> parameter_names(CurveFamily family);
[[nodiscard]] std::size_t parameter_count(CurveFamily family);

// The family's value at t (tokens) for natural parameters `params` (parameter_names order).
[[nodiscard]] double evaluate(CurveFamily family, std::span<const double> params, double t);

// An empirical curve: t strictly increasing and positive, y finite; same lengths.
struct Curve {
  std::vector<double> t;
  std::vector<double> y;
};

struct FitOptions {
  int max_iterations = 200;  // Levenberg-Marquardt iterations per start
  double tolerance = 1e-12;  // stop when the relative decrease of the RSS is below this
};

struct FitResult {
  CurveFamily family = CurveFamily::kSurgePhi;
  std::vector<double> params;  // natural parameters, parameter_names(family) order
  double rss = 0;              // residual sum of squares
  double rmse = 0;             // sqrt(rss / n)
  double aic = 0;              // gaussian_aic(rss, n, parameter_count)
  std::size_t n = 0;           // points fitted
  int iterations = 0;          // of the winning start
  int starts = 0;              // starts tried
  bool converged = false;      // the winning start met the tolerance before max_iterations
};

// Throws std::invalid_argument if the curve has fewer points than the family has parameters, or
// t is not strictly increasing and positive, or a value is not finite.
[[nodiscard]] FitResult fit_curve(CurveFamily family, const Curve& curve,
                                  const FitOptions& options = {});
[[nodiscard]] std::vector<FitResult> fit_all(const Curve& curve,
                                             std::span<const CurveFamily> families = all_families(),
                                             const FitOptions& options = {});

// n ln(RSS / n) + 2k, with RSS / n floored at kAicRssFloor so an exact fit stays finite.
inline constexpr double kAicRssFloor = 1e-30;
[[nodiscard]] double gaussian_aic(double rss, std::size_t n, std::size_t k);

// Index of the smallest AIC (the first on ties). Precondition: fits is not empty.
[[nodiscard]] std::size_t best_by_aic(std::span<const FitResult> fits);

}  // namespace clearhouse::eval
