#include "cli/market_svg.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace clearhouse::cli {
namespace {

constexpr double kWidth = 800.0;
constexpr double kHeight = 440.0;
constexpr double kLeft = 80.0;
constexpr double kRight = 250.0;  // legend column
constexpr double kTop = 40.0;
constexpr double kBottom = 60.0;

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// About five "nice" ticks covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi) {
  const double span = hi - lo;
  const double raw = span / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string tick_label(double v) {
  if (v != 0.0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) return fmt::format("{:.0e}", v);
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::string render_svg(const Chart& chart) {
  double x_lo = std::numeric_limits<double>::infinity();
  double x_hi = -x_lo;
  double y_lo = x_lo;
  double y_hi = -x_lo;
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!chart.log_x || x > 0.0);
  };
  for (const ChartSeries& s : chart.series) {
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y)) continue;
      const double xv = chart.log_x ? std::log10(x) : x;
      x_lo = std::min(x_lo, xv);
      x_hi = std::max(x_hi, xv);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  if (!std::isfinite(x_lo)) x_lo = 0.0, x_hi = 1.0, y_lo = 0.0, y_hi = 1.0;
  if (x_hi - x_lo <= 0.0) x_lo -= 0.5, x_hi += 0.5;
  if (y_hi - y_lo <= 1e-12 * std::max(1.0, std::abs(y_hi))) {
    const double pad = std::max(1e-3, std::abs(y_hi) * 0.05);
    y_lo -= pad;
    y_hi += pad;
  } else {
    const double pad = (y_hi - y_lo) * 0.05;
    y_lo -= pad;
    y_hi += pad;
  }
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) {
    const double xv = chart.log_x ? std::log10(x) : x;
    return kLeft + (xv - x_lo) / (x_hi - x_lo) * plot_w;
  };
  auto py = [&](double y) { return kTop + (1.0 - (y - y_lo) / (y_hi - y_lo)) * plot_h; };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{3}</text>\n",
      kWidth, kHeight, kLeft, escape(chart.title));
  // Axes and grid.
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft,
      kTop, plot_w, plot_h);
  for (double t : nice_ticks(y_lo, y_hi)) {
    const double y = py(t);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.2f}\" x2=\"{2}\" y2=\"{1:.2f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4:.2f}\" text-anchor=\"end\">{5}</text>\n",
        kLeft, y, kLeft + plot_w, kLeft - 6, y + 4, tick_label(t));
  }
  if (chart.log_x) {
    for (double e = std::ceil(x_lo - 1e-9); e <= x_hi + 1e-9; e += 1.0) {
      const double x = kLeft + (e - x_lo) / (x_hi - x_lo) * plot_w;
      svg += fmt::format(
          "<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
          "<text x=\"{0:.2f}\" y=\"{3}\" text-anchor=\"middle\">1e{4}</text>\n",
          x, kTop, kTop + plot_h, kTop + plot_h + 18, static_cast<int>(e));
    }
  } else {
    for (double t : nice_ticks(x_lo, x_hi)) {
      const double x = px(t);
      svg += fmt::format(
          "<line x1=\"{0:.2f}\" y1=\"{1}\" x2=\"{0:.2f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
          "<text x=\"{0:.2f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
          x, kTop, kTop + plot_h, kTop + plot_h + 18, tick_label(t));
    }
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                     kLeft + plot_w / 2, kHeight - 18, escape(chart.x_label));
  svg += fmt::format(
      "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
      kTop + plot_h / 2, escape(chart.y_label));
  // Series and legend.
  std::size_t index = 0;
  for (const ChartSeries& s : chart.series) {
    const char* color = kColors[index % std::size(kColors)];
    const char* dash = s.dashed ? " stroke-dasharray=\"6,4\"" : "";
    std::string path;
    for (const auto& [x, y] : s.points) {
      if (!usable(x, y)) {
        if (!path.empty()) {
          svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                             color, dash, path);
          path.clear();
        }
        continue;
      }
      path += fmt::format("{:.2f},{:.2f} ", px(x), py(y));
      if (s.markers) {
        svg += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"/>\n", px(x), py(y),
                           color);
      }
    }
    if (!path.empty()) {
      svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                         color, dash, path);
    }
    const double ly = kTop + 10 + 20.0 * static_cast<double>(index);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>"
        "<text x=\"{5}\" y=\"{6}\">{7}</text>\n",
        kLeft + plot_w + 12, ly, kLeft + plot_w + 36, color, dash, kLeft + plot_w + 42, ly + 4,
        escape(s.name.size() > 32 ? s.name.substr(0, 31) + "..." : s.name));
    ++index;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace clearhouse::cli
