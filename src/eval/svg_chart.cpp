#include "eval/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>

namespace clearhouse::eval {

SvgChart::SvgChart(std::string_view title, Layout layout) : layout_(layout) {
  svg_ = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<defs><clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" "
      "height=\"{}\"/></clipPath></defs>\n<text x=\"{}\" y=\"22\" font-size=\"15\" "
      "text-anchor=\"middle\">{}</text>\n",
      layout_.width, layout_.height, layout_.left, layout_.top, plot_width(), plot_height(),
      layout_.left + plot_width() / 2, xml_escape(title));
}

double SvgChart::x_position(double unit) const {
  return layout_.left + plot_width() * unit;
}

double SvgChart::y_position(double value) const {
  return layout_.top + plot_height() * (1.0 - (value - y_min_) / (y_max_ - y_min_));
}

void SvgChart::set_y_range(double y_min, double y_max) {
  assert(y_min < y_max);
  y_min_ = y_min;
  y_max_ = y_max;
}

void SvgChart::y_grid_percent(int intervals) {
  for (int k = 0; k <= intervals; ++k) {
    const double v = y_max_ * k / intervals;
    y_tick(v, fmt::format("{:.0f}%", 100.0 * v));
  }
}

void SvgChart::y_tick(double value, std::string_view label) {
  svg_ += fmt::format(
      "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
      "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
      layout_.left, y_position(value), layout_.left + plot_width(), layout_.left - 6,
      y_position(value) + 4, xml_escape(label));
}

void SvgChart::x_tick(double pixel_x, std::string_view label) {
  svg_ += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
      "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
      pixel_x, layout_.top, layout_.top + plot_height(), layout_.top + plot_height() + 18,
      xml_escape(label));
}

void SvgChart::frame(std::string_view x_label, std::string_view y_label) {
  const double mid_y = layout_.top + plot_height() / 2;
  svg_ += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">{}</text>\n",
      layout_.left, layout_.top, plot_width(), plot_height(), layout_.left + plot_width() / 2,
      layout_.height - 18, xml_escape(x_label), mid_y, mid_y, xml_escape(y_label));
}

void SvgChart::polyline(const std::vector<std::pair<double, double>>& points,
                        std::string_view color, double width, std::string_view extra) {
  std::string coords;
  for (const auto& [x, y] : points) coords += fmt::format("{:.1f},{:.1f} ", x, y);
  svg_ += fmt::format(
      "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
      "clip-path=\"url(#plot)\"{}/>\n",
      coords, color, width, extra);
}

void SvgChart::marker(double pixel_x, double pixel_y, std::string_view color, double radius) {
  svg_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"/>\n", pixel_x,
                      pixel_y, radius, color);
}

void SvgChart::legend_line(std::size_t row, std::string_view text, std::string_view color,
                           std::string_view text_attributes, std::string_view line_attributes) {
  const double x = layout_.left + plot_width() + 12;
  const double y = layout_.top + 12 + 20.0 * static_cast<double>(row);
  svg_ += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"{8}/>"
      "<text x=\"{4}\" y=\"{5}\"{6}>{7}</text>\n",
      x, y, x + 24, color, x + 30, y + 4, text_attributes, xml_escape(text), line_attributes);
}

void SvgChart::legend_dot(std::size_t row, std::string_view text, std::string_view color) {
  const double x = layout_.left + plot_width() + 12;
  const double y = layout_.top + 12 + 20.0 * static_cast<double>(row);
  svg_ += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
      x + 12, y, color, x + 30, y + 4, xml_escape(text));
}

std::string SvgChart::finish() {
  svg_ += "</svg>\n";
  return std::move(svg_);
}

double percent_axis_max(double largest) {
  return std::clamp(std::ceil(std::max(largest, 0.05) * 10.0 + 0.5) / 10.0, 0.1, 1.0);
}

std::vector<double> nice_ticks(double lo, double hi) {
  assert(lo < hi);
  const double raw = (hi - lo) / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (raw <= m * magnitude) {
      step = m * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);  // no "-0"
  }
  return ticks;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
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

}  // namespace clearhouse::eval
