#include "eval/svg_chart.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace clearhouse::eval {

SvgChart::SvgChart(std::string_view title, Layout layout) : layout_(layout) {
  svg_ = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<defs><clipPath id=\"plot\"><rect x=\"{}\" y=\"{}\" width=\"{}\" "
      "height=\"{}\"/></clipPath></defs>\n<text x=\"{}\" y=\"22\" font-size=\"15\" "
      "text-anchor=\"middle\">{}</text>\n",
      layout_.width, layout_.height, layout_.left, layout_.top, plot_width(), plot_height(),
      layout_.left + plot_width() / 2, title);
}

double SvgChart::x_position(double unit) const { return layout_.left + plot_width() * unit; }

double SvgChart::y_position(double value) const {
  return layout_.top + plot_height() * (1.0 - value / y_max_);
}

void SvgChart::y_grid_percent(int intervals) {
  for (int k = 0; k <= intervals; ++k) {
    const double v = y_max_ * k / intervals;
    svg_ += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.0f}%</text>\n",
        layout_.left, y_position(v), layout_.left + plot_width(), layout_.left - 6,
        y_position(v) + 4, 100.0 * v);
  }
}

void SvgChart::x_tick(double pixel_x, std::string_view label) {
  svg_ += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
      "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
      pixel_x, layout_.top, layout_.top + plot_height(), layout_.top + plot_height() + 18, label);
}

void SvgChart::frame(std::string_view x_label, std::string_view y_label) {
  const double mid_y = layout_.top + plot_height() / 2;
  svg_ += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n"
      "<text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">{}</text>\n",
      layout_.left, layout_.top, plot_width(), plot_height(), layout_.left + plot_width() / 2,
      layout_.height - 18, x_label, mid_y, mid_y, y_label);
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
                           std::string_view text_attributes) {
  const double x = layout_.left + plot_width() + 12;
  const double y = layout_.top + 12 + 20.0 * static_cast<double>(row);
  svg_ += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
      "<text x=\"{4}\" y=\"{5}\"{6}>{7}</text>\n",
      x, y, x + 24, color, x + 30, y + 4, text_attributes, text);
}

void SvgChart::legend_dot(std::size_t row, std::string_view text, std::string_view color) {
  const double x = layout_.left + plot_width() + 12;
  const double y = layout_.top + 12 + 20.0 * static_cast<double>(row);
  svg_ += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
      x + 12, y, color, x + 30, y + 4, text);
}

std::string SvgChart::finish() {
  svg_ += "</svg>\n";
  return std::move(svg_);
}

double percent_axis_max(double largest) {
  return std::clamp(std::ceil(std::max(largest, 0.05) * 10.0 + 0.5) / 10.0, 0.1, 1.0);
}

}  // namespace clearhouse::eval
