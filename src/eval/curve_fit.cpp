#include "eval/curve_fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

namespace clearhouse::eval {
namespace {

constexpr std::array<CurveFamily, 7> kFamilies{CurveFamily::kSurgePhi, CurveFamily::kSurgeCapped,
                                               CurveFamily::kSurgeCdf, CurveFamily::kLogLogistic,
                                               CurveFamily::kPowerLaw, CurveFamily::kShiftedExp,
                                               CurveFamily::kLogNormal};
constexpr std::size_t kParams = 3;  // every family has three parameters
using Vec = std::array<double, kParams>;

constexpr std::array<std::string_view, kParams> kPhiNames{"alpha", "beta", "tau"};
constexpr std::array<std::string_view, kParams> kSurgeCdfNames{"a", "beta", "tau"};
constexpr std::array<std::string_view, kParams> kLogLogisticNames{"a", "k", "t50"};
constexpr std::array<std::string_view, kParams> kPowerNames{"a", "k", "tau"};
constexpr std::array<std::string_view, kParams> kLogNormalNames{"a", "mu", "sigma"};

// The solver works on internal coordinates: positive scale parameters as logarithms (so a step is
// relative), the asymptote a as-is. Box bounds on the internal coordinates keep every start and
// step meaningful (a in [0, 1]; logs within generous ranges of token counts and rates).
struct Box {
  Vec lo, hi;
};
constexpr double kLnTauLo = -10, kLnTauHi = 15;    // tau in (4.5e-5, 3.3e6) tokens
constexpr double kLnRateLo = -25, kLnRateHi = 5;   // beta in (1.4e-11, 148) per token
constexpr double kLnShapeLo = -6, kLnShapeHi = 6;  // k in (0.0025, 403)

Box box_of(CurveFamily f) {
  switch (f) {
    case CurveFamily::kSurgePhi: return {{-40, kLnRateLo, kLnTauLo}, {10, kLnRateHi, kLnTauHi}};
    case CurveFamily::kSurgeCapped:
    case CurveFamily::kSurgeCdf:
    case CurveFamily::kShiftedExp: return {{0, kLnRateLo, kLnTauLo}, {1, kLnRateHi, kLnTauHi}};
    case CurveFamily::kLogLogistic:
    case CurveFamily::kPowerLaw: return {{0, kLnShapeLo, kLnTauLo}, {1, kLnShapeHi, kLnTauHi}};
    case CurveFamily::kLogNormal: return {{0, kLnTauLo, -6}, {1, kLnTauHi, 4}};
  }
  return {};
}

Vec to_natural(CurveFamily f, const Vec& x) {
  switch (f) {
    case CurveFamily::kSurgePhi: return {std::exp(x[0]), std::exp(x[1]), std::exp(x[2])};
    case CurveFamily::kLogNormal: return {x[0], x[1], std::exp(x[2])};
    default: return {x[0], std::exp(x[1]), std::exp(x[2])};
  }
}

Vec to_internal(CurveFamily f, const Vec& p) {
  Vec x{};
  switch (f) {
    case CurveFamily::kSurgePhi: x = {std::log(p[0]), std::log(p[1]), std::log(p[2])}; break;
    case CurveFamily::kLogNormal: x = {p[0], p[1], std::log(p[2])}; break;
    default: x = {p[0], std::log(p[1]), std::log(p[2])}; break;
  }
  const Box b = box_of(f);
  for (std::size_t j = 0; j < kParams; ++j) {
    if (!std::isfinite(x[j])) x[j] = x[j] > 0 ? b.hi[j] : b.lo[j];
    x[j] = std::clamp(x[j], b.lo[j], b.hi[j]);
  }
  return x;
}

double value(CurveFamily f, const Vec& p, double t) {
  switch (f) {
    case CurveFamily::kSurgePhi: {
      const double s = t - p[2];
      return s <= 0 ? 0.0 : p[0] * s * std::exp(-p[1] * s);
    }
    case CurveFamily::kSurgeCapped: {
      const double u = std::min(p[1] * (t - p[2]), 1.0);
      return u <= 0 ? 0.0 : p[0] * std::numbers::e * u * std::exp(-u);
    }
    case CurveFamily::kSurgeCdf: {
      const double u = p[1] * (t - p[2]);
      return u <= 0 ? 0.0 : p[0] * (1.0 - (1.0 + u) * std::exp(-u));
    }
    case CurveFamily::kLogLogistic: return p[0] / (1.0 + std::pow(t / p[2], -p[1]));
    case CurveFamily::kPowerLaw: return t <= p[2] ? 0.0 : p[0] * (1.0 - std::pow(t / p[2], -p[1]));
    case CurveFamily::kShiftedExp: {
      const double u = p[1] * (t - p[2]);
      return u <= 0 ? 0.0 : p[0] * (1.0 - std::exp(-u));
    }
    case CurveFamily::kLogNormal:
      return p[0] * 0.5 * std::erfc(-(std::log(t) - p[1]) / (p[2] * std::numbers::sqrt2));
  }
  return 0;
}

double rss_at(CurveFamily f, const Vec& x, const Curve& c) {
  const Vec p = to_natural(f, x);
  double rss = 0;
  for (std::size_t i = 0; i < c.t.size(); ++i) {
    const double r = value(f, p, c.t[i]) - c.y[i];
    rss += r * r;
  }
  return std::isfinite(rss) ? rss : std::numeric_limits<double>::infinity();
}

// Solves the 3x3 system m d = v by Gaussian elimination with partial pivoting; false if singular.
bool solve3(std::array<Vec, kParams> m, Vec v, Vec& d) {
  for (std::size_t c = 0; c < kParams; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < kParams; ++r) {
      if (std::abs(m[r][c]) > std::abs(m[pivot][c])) pivot = r;
    }
    if (!(std::abs(m[pivot][c]) > 0)) return false;
    std::swap(m[c], m[pivot]);
    std::swap(v[c], v[pivot]);
    for (std::size_t r = c + 1; r < kParams; ++r) {
      const double factor = m[r][c] / m[c][c];
      for (std::size_t k = c; k < kParams; ++k) m[r][k] -= factor * m[c][k];
      v[r] -= factor * v[c];
    }
  }
  for (std::size_t c = kParams; c-- > 0;) {
    double s = v[c];
    for (std::size_t k = c + 1; k < kParams; ++k) s -= m[c][k] * d[k];
    d[c] = s / m[c][c];
  }
  return std::isfinite(d[0]) && std::isfinite(d[1]) && std::isfinite(d[2]);
}

struct StartResult {
  Vec x{};
  double rss = std::numeric_limits<double>::infinity();
  int iterations = 0;
  bool converged = false;
};

// Levenberg-Marquardt on the internal coordinates from x0, projected onto the box after every
// step; central-difference Jacobian (the shifted families have a kink at tau, where a one-sided
// slope is as good as any).
StartResult levenberg_marquardt(CurveFamily f, Vec x, const Curve& c, const FitOptions& o) {
  const Box box = box_of(f);
  const std::size_t n = c.t.size();
  StartResult out;
  double cost = rss_at(f, x, c);
  double mu = 1e-3;
  std::vector<double> r(n);
  std::vector<Vec> jac(n);
  for (int it = 1; it <= o.max_iterations; ++it) {
    out.iterations = it;
    if (cost < kAicRssFloor) {
      out.converged = true;
      break;
    }
    const Vec p = to_natural(f, x);
    for (std::size_t i = 0; i < n; ++i) r[i] = value(f, p, c.t[i]) - c.y[i];
    for (std::size_t j = 0; j < kParams; ++j) {
      const double h = 1e-6 * std::max(1.0, std::abs(x[j]));
      Vec up = x, down = x;
      up[j] += h;
      down[j] -= h;
      const Vec pu = to_natural(f, up), pd = to_natural(f, down);
      for (std::size_t i = 0; i < n; ++i) {
        jac[i][j] = (value(f, pu, c.t[i]) - value(f, pd, c.t[i])) / (2 * h);
      }
    }
    std::array<Vec, kParams> a{};
    Vec g{};
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < kParams; ++j) {
        g[j] += jac[i][j] * r[i];
        for (std::size_t k = 0; k < kParams; ++k) a[j][k] += jac[i][j] * jac[i][k];
      }
    }
    bool accepted = false;
    while (mu < 1e12) {
      std::array<Vec, kParams> m = a;
      for (std::size_t j = 0; j < kParams; ++j) m[j][j] += mu * std::max(a[j][j], 1e-12);
      Vec d{};
      Vec neg_g{-g[0], -g[1], -g[2]};
      if (!solve3(m, neg_g, d)) {
        mu *= 4;
        continue;
      }
      Vec trial = x;
      double step = 0, size = 0;
      for (std::size_t j = 0; j < kParams; ++j) {
        trial[j] = std::clamp(x[j] + d[j], box.lo[j], box.hi[j]);
        step += (trial[j] - x[j]) * (trial[j] - x[j]);
        size += x[j] * x[j];
      }
      if (step <= 1e-24 * (size + 1e-24)) break;  // the projected step vanished
      const double trial_cost = rss_at(f, trial, c);
      if (trial_cost < cost) {
        const double decrease = cost - trial_cost;
        x = trial;
        cost = trial_cost;
        mu = std::max(mu / 3, 1e-12);
        accepted = true;
        if (decrease <= o.tolerance * cost) out.converged = true;
        break;
      }
      mu *= 4;
    }
    if (!accepted) {
      out.converged = true;  // no step along the damped direction lowers the RSS: a local minimum
      break;
    }
    if (out.converged) break;
  }
  out.x = x;
  out.rss = cost;
  return out;
}

// Where the curve reaches share q of its maximum (the first grid point at or above it).
double t_at_share(const Curve& c, double y_max, double q) {
  for (std::size_t i = 0; i < c.t.size(); ++i) {
    if (c.y[i] >= q * y_max) return c.t[i];
  }
  return c.t.back();
}

// Starting points from the curve's shape: the last zero before the rise (tau), the 10/50/90% points
// of the rise, each scaled by 1/2, 1 and 2.
std::vector<Vec> starts_for(CurveFamily f, const Curve& c) {
  const double y_max = std::max(*std::max_element(c.y.begin(), c.y.end()), 0.0);
  if (y_max <= 0) {
    return {to_internal(f, {f == CurveFamily::kSurgePhi ? 1e-12 : 0.0, 1.0 / c.t.back(),
                            f == CurveFamily::kLogNormal ? 1.0 : c.t.front()})};
  }
  const double a = std::min(y_max, 1.0);
  double tau0 = c.t.front() / 2;
  for (std::size_t i = 0; i < c.t.size() && c.y[i] <= 0; ++i) tau0 = c.t[i];
  const double t10 = t_at_share(c, y_max, 0.1), t50 = t_at_share(c, y_max, 0.5),
               t90 = t_at_share(c, y_max, 0.9);
  const std::array<double, 3> taus{0.5 * tau0, tau0, std::sqrt(tau0 * std::max(t10, tau0))};
  const std::array<double, 3> mult{0.5, 1.0, 2.0};
  const double spread = t90 > t10 ? std::log(t90 / t10) : std::log(2.0);
  std::vector<Vec> out;
  for (std::size_t mi = 0; mi < 3; ++mi) {
    const double m = mult[mi];
    for (std::size_t i = 0; i < 3; ++i) {
      const double tau = taus[i];
      const double s = (t50 > tau ? t50 - tau : 0.5 * t50) * m;
      Vec p{};
      switch (f) {
        case CurveFamily::kSurgePhi: {
          // peak (height y_max) at the 90% point, the end of the grid, or three times further
          const std::array<double, 3> peaks{t90, c.t.back(), 3 * c.t.back()};
          const double width = std::max(peaks[mi] - tau, 1e-3 * c.t.back());
          p = {y_max * std::numbers::e / width, 1.0 / width, tau};
          break;
        }
        case CurveFamily::kSurgeCapped: {
          // the peak (height a) at the 50% or 90% point or at the end of the grid
          const std::array<double, 3> peaks{t50, t90, c.t.back()};
          p = {a, 1.0 / std::max(peaks[mi] - tau, 1e-3 * c.t.back()), tau};
          break;
        }
        case CurveFamily::kSurgeCdf: p = {a, 1.678 / s, tau}; break;  // Gamma(2) median 1.678/beta
        case CurveFamily::kShiftedExp: p = {a, std::numbers::ln2 / s, tau}; break;
        case CurveFamily::kPowerLaw: p = {a, std::numbers::ln2 / std::log1p(s / tau), tau}; break;
        case CurveFamily::kLogLogistic:
          p = {a, std::log(81.0) / spread * mult[i], t50 * m};  // 10-90% spans ln(81)/k in ln t
          break;
        case CurveFamily::kLogNormal:
          p = {a, std::log(t50 * m), spread / 2.563 * mult[i]};  // 10-90% spans 2 x 1.2816 sigma
          break;
      }
      out.push_back(to_internal(f, p));
    }
  }
  return out;
}

void check_curve(const Curve& c, std::size_t k) {
  if (c.t.size() != c.y.size()) throw std::invalid_argument("curve: t and y differ in length");
  if (c.t.size() < k) throw std::invalid_argument("curve: fewer points than parameters");
  for (std::size_t i = 0; i < c.t.size(); ++i) {
    if (!std::isfinite(c.t[i]) || !std::isfinite(c.y[i]) || c.t[i] <= 0 ||
        (i > 0 && c.t[i] <= c.t[i - 1])) {
      throw std::invalid_argument("curve: t must be positive and strictly increasing, y finite");
    }
  }
}

}  // namespace

std::span<const CurveFamily> all_families() {
  return kFamilies;
}

std::string_view to_string(CurveFamily family) {
  switch (family) {
    case CurveFamily::kSurgePhi: return "surge-phi";
    case CurveFamily::kSurgeCapped: return "surge-capped";
    case CurveFamily::kSurgeCdf: return "surge-cdf";
    case CurveFamily::kLogLogistic: return "log-logistic";
    case CurveFamily::kPowerLaw: return "power-law";
    case CurveFamily::kShiftedExp: return "shifted-exp";
    case CurveFamily::kLogNormal: return "log-normal";
  }
  return "?";
}

std::optional<CurveFamily> find_family(std::string_view name) {
  for (const CurveFamily f : kFamilies) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

std::span<const std::string_view> parameter_names(CurveFamily family) {
  switch (family) {
    case CurveFamily::kSurgePhi: return kPhiNames;
    case CurveFamily::kSurgeCapped:
    case CurveFamily::kSurgeCdf:
    case CurveFamily::kShiftedExp: return kSurgeCdfNames;
    case CurveFamily::kLogLogistic: return kLogLogisticNames;
    case CurveFamily::kPowerLaw: return kPowerNames;
    case CurveFamily::kLogNormal: return kLogNormalNames;
  }
  return {};
}

std::size_t parameter_count(CurveFamily family) {
  return parameter_names(family).size();
}

double evaluate(CurveFamily family, std::span<const double> params, double t) {
  if (params.size() != kParams) throw std::invalid_argument("evaluate: expected 3 parameters");
  return value(family, {params[0], params[1], params[2]}, t);
}

double gaussian_aic(double rss, std::size_t n, std::size_t k) {
  const double nd = static_cast<double>(n);
  return nd * std::log(std::max(rss / nd, kAicRssFloor)) + 2.0 * static_cast<double>(k);
}

FitResult fit_curve(CurveFamily family, const Curve& curve, const FitOptions& options) {
  check_curve(curve, kParams);
  StartResult best;
  const std::vector<Vec> starts = starts_for(family, curve);
  for (const Vec& x0 : starts) {
    const StartResult s = levenberg_marquardt(family, x0, curve, options);
    if (s.rss < best.rss) best = s;
  }
  FitResult r;
  r.family = family;
  const Vec p = to_natural(family, best.x);
  r.params.assign(p.begin(), p.end());
  r.n = curve.t.size();
  r.rss = best.rss;
  r.rmse = std::sqrt(best.rss / static_cast<double>(r.n));
  r.aic = gaussian_aic(best.rss, r.n, kParams);
  r.iterations = best.iterations;
  r.starts = static_cast<int>(starts.size());
  r.converged = best.converged;
  return r;
}

std::vector<FitResult> fit_all(const Curve& curve, std::span<const CurveFamily> families,
                               const FitOptions& options) {
  std::vector<FitResult> out;
  out.reserve(families.size());
  for (const CurveFamily f : families) out.push_back(fit_curve(f, curve, options));
  return out;
}

std::size_t best_by_aic(std::span<const FitResult> fits) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < fits.size(); ++i) {
    if (fits[i].aic < fits[best].aic) best = i;
  }
  return best;
}

}  // namespace clearhouse::eval
