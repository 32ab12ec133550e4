#include "eval/market_svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "eval/svg_chart.h"

namespace clearhouse::eval {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr const char* kDashed = " stroke-dasharray=\"6,4\"";

std::string tick_label(double v) {
  if (v != 0.0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) return fmt::format("{:.0e}", v);
  return fmt::format("{:.6g}", v);
}

// The data's extent in plotted coordinates (log10 x on a log axis), with 5% headroom on y.
struct Extent {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo;
  double y_lo = x_lo, y_hi = -x_lo;
};

bool usable(const Chart& chart, double x, double y) {
  return std::isfinite(x) && std::isfinite(y) && (!chart.log_x || x > 0.0);
}

Extent extent_of(const Chart& chart) {
  Extent e;
  for (const ChartSeries& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!usable(chart, x, y)) continue;
      const double xv = chart.log_x ? std::log10(x) : x;
      e.x_lo = std::min(e.x_lo, xv);
      e.x_hi = std::max(e.x_hi, xv);
      e.y_lo = std::min(e.y_lo, y);
      e.y_hi = std::max(e.y_hi, y);
    }
  }
  if (!std::isfinite(e.x_lo)) e = {0.0, 1.0, 0.0, 1.0};
  if (e.x_hi - e.x_lo <= 0.0) e.x_lo -= 0.5, e.x_hi += 0.5;
  const double pad = e.y_hi - e.y_lo <= 1e-12 * std::max(1.0, std::abs(e.y_hi))
                         ? std::max(1e-3, std::abs(e.y_hi) * 0.05)
                         : (e.y_hi - e.y_lo) * 0.05;
  e.y_lo -= pad;
  e.y_hi += pad;
  return e;
}

}  // namespace

std::string render_svg(const Chart& chart) {
  const Extent e = extent_of(chart);
  eval::SvgChart svg(chart.title, eval::SvgChart::Layout{800, 440, 80, 250, 40, 60});
  svg.set_y_range(e.y_lo, e.y_hi);
  auto px = [&](double x) {
    const double xv = chart.log_x ? std::log10(x) : x;
    return svg.x_position((xv - e.x_lo) / (e.x_hi - e.x_lo));
  };
  for (const double t : eval::nice_ticks(e.y_lo, e.y_hi)) svg.y_tick(t, tick_label(t));
  if (chart.log_x) {
    for (double d = std::ceil(e.x_lo - 1e-9); d <= e.x_hi + 1e-9; d += 1.0) {
      svg.x_tick(svg.x_position((d - e.x_lo) / (e.x_hi - e.x_lo)),
                 fmt::format("1e{}", static_cast<int>(d)));
    }
  } else {
    for (const double t : eval::nice_ticks(e.x_lo, e.x_hi)) svg.x_tick(px(t), tick_label(t));
  }
  svg.frame(chart.x_label, chart.y_label);
  for (std::size_t index = 0; index < chart.series.size(); ++index) {
    const ChartSeries& s = chart.series[index];
    const char* color = kColors[index % std::size(kColors)];
    const char* dash = s.dashed ? kDashed : "";
    // A point that cannot be drawn breaks the line.
    std::vector<std::pair<double, double>> segment;
    for (const auto& [x, y] : s.points) {
      if (!usable(chart, x, y)) {
        if (!segment.empty()) svg.polyline(segment, color, 2.0, dash);
        segment.clear();
        continue;
      }
      segment.emplace_back(px(x), svg.y_position(y));
      if (s.markers) svg.marker(segment.back().first, segment.back().second, color);
    }
    if (!segment.empty()) svg.polyline(segment, color, 2.0, dash);
    svg.legend_line(index, s.name.size() > 32 ? s.name.substr(0, 31) + "..." : s.name, color, "",
                    dash);
  }
  return svg.finish();
}

}  // namespace clearhouse::eval
