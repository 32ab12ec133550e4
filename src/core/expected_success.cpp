#include "core/expected_success.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

namespace clearhouse::core {
namespace {

constexpr int kGridPoints = 48;
constexpr double kGridLowZ = -3.0;
constexpr double kGridHighZ = 4.0;

struct Segment {
  double slope;  // success probability per token
  std::uint32_t query;
  std::int64_t to_cap;  // cap after taking this segment
  double to_value;
};

}  // namespace

double success_probability(const SuccessBelief& belief, double cap) {
  if (cap < 1.0) return 0.0;
  const double z = (std::log(cap) - belief.log_mu) / belief.log_sigma;
  return belief.p_correct * 0.5 * std::erfc(-z / std::numbers::sqrt2);
}

ExpectedSuccessPlan allocate_expected_successes(std::span<const SuccessBelief> beliefs,
                                                std::int64_t budget, std::int64_t max_cap) {
  assert(budget >= 0 && max_cap >= 1);
  ExpectedSuccessPlan plan;
  plan.caps.assign(beliefs.size(), 0);
  std::vector<Segment> segments;
  segments.reserve(beliefs.size() * 16);
  std::vector<std::pair<std::int64_t, double>> points, hull;
  for (std::size_t i = 0; i < beliefs.size(); ++i) {
    const SuccessBelief& b = beliefs[i];
    if (!(b.p_correct > 0.0) || !(b.log_sigma > 0.0)) continue;
    points.assign(1, {0, 0.0});
    for (int k = 0; k < kGridPoints; ++k) {
      const double z = kGridLowZ + (kGridHighZ - kGridLowZ) * k / (kGridPoints - 1);
      const auto cap = std::clamp<std::int64_t>(
          static_cast<std::int64_t>(std::llround(std::exp(b.log_mu + b.log_sigma * z))), 1,
          max_cap);
      if (cap > points.back().first) {
        points.emplace_back(cap, success_probability(b, static_cast<double>(cap)));
      }
    }
    // Upper concave hull from (0, 0): keep points while slopes fall.
    hull.clear();
    for (const auto& pt : points) {
      while (hull.size() >= 2) {
        const auto& a = hull[hull.size() - 2];
        const auto& m = hull.back();
        const double cross = static_cast<double>(m.first - a.first) * (pt.second - a.second) -
                             (m.second - a.second) * static_cast<double>(pt.first - a.first);
        if (cross >= 0.0) {
          hull.pop_back();  // m lies on or below the chord a-pt
        } else {
          break;
        }
      }
      hull.push_back(pt);
    }
    for (std::size_t k = 1; k < hull.size(); ++k) {
      const double dt = static_cast<double>(hull[k].first - hull[k - 1].first);
      const double slope = (hull[k].second - hull[k - 1].second) / dt;
      if (slope <= 0.0) break;
      segments.push_back({slope, static_cast<std::uint32_t>(i), hull[k].first, hull[k].second});
    }
  }
  std::stable_sort(segments.begin(), segments.end(),
                   [](const Segment& a, const Segment& b) { return a.slope > b.slope; });
  std::vector<std::uint8_t> closed(beliefs.size(), 0);
  std::vector<double> value(beliefs.size(), 0.0);
  std::int64_t left = budget;
  for (const Segment& s : segments) {
    if (closed[s.query]) continue;
    const std::int64_t cost = s.to_cap - plan.caps[s.query];
    if (cost > left) {
      closed[s.query] = 1;  // its later segments are flatter still; keep the budget for others
      continue;
    }
    left -= cost;
    plan.caps[s.query] = s.to_cap;
    value[s.query] = s.to_value;
    plan.shadow_price = s.slope;
  }
  // Every hull exhausted and tokens left: extra headroom for the funded queries, one token each.
  std::vector<std::size_t> funded;
  for (std::size_t i = 0; i < beliefs.size(); ++i) {
    if (plan.caps[i] > 0) funded.push_back(i);
  }
  if (!funded.empty() && left > 0) {
    const auto n = static_cast<std::int64_t>(funded.size());
    for (std::size_t k = 0; k < funded.size(); ++k) {
      const std::size_t i = funded[k];
      const std::int64_t extra = left / n + (static_cast<std::int64_t>(k) < left % n ? 1 : 0);
      const std::int64_t room = max_cap - plan.caps[i];
      plan.caps[i] += std::min(extra, room);
    }
  }
  for (std::size_t i = 0; i < beliefs.size(); ++i) {
    plan.allocated += plan.caps[i];
    plan.expected_successes += success_probability(beliefs[i], static_cast<double>(plan.caps[i]));
  }
  return plan;
}

}  // namespace clearhouse::core
