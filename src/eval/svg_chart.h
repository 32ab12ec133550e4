// SvgChart: the one SVG writer of the reports (replay Pareto plots, curve fits, market plots): a
// plot area inside fixed margins, a y axis from y_min to y_max (percent grid or ticks placed by the
// caller), x ticks placed by the caller, polylines clipped to the plot area, point markers and a
// legend column on the right. Callers map data to the plot area with x_position()/y_position().
// Every text is XML-escaped. Pure: builds a string; no fonts or files. Not thread-safe (one
// builder).
//
//   SvgChart chart("title", {.right = 170});
//   chart.set_y_max(0.5);
//   chart.y_grid_percent(5);
//   chart.x_tick(chart.x_position(0.5), "64");
//   chart.frame("tokens", "accuracy");
//   chart.polyline(points, "#1f77b4");
//   chart.legend_line(0, "clear", "#1f77b4");
//   std::string svg = chart.finish();
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clearhouse::eval {

class SvgChart {
 public:
  struct Layout {
    double width = 720, height = 460;
    double left = 70, right = 170, top = 40, bottom = 60;  // margins, pixels
  };

  SvgChart(std::string_view title, Layout layout);

  [[nodiscard]] double plot_width() const { return layout_.width - layout_.left - layout_.right; }
  [[nodiscard]] double plot_height() const { return layout_.height - layout_.top - layout_.bottom; }
  // Pixel x of a position in [0, 1] across the plot area; pixel y of a value in [0, y_max].
  [[nodiscard]] double x_position(double unit) const;
  [[nodiscard]] double y_position(double value) const;

  // The y axis spans [0, y_max] (set_y_max) or [y_min, y_max] (set_y_range); y_min < y_max.
  void set_y_max(double y_max) { y_max_ = y_max; }
  void set_y_range(double y_min, double y_max);
  [[nodiscard]] double y_max() const { return y_max_; }
  // Horizontal grid lines with percent labels at y_max * k / intervals.
  void y_grid_percent(int intervals);
  // A horizontal grid line and label at a y value.
  void y_tick(double value, std::string_view label);
  // A vertical grid line and label at pixel x.
  void x_tick(double pixel_x, std::string_view label);
  // The plot frame and the axis labels.
  void frame(std::string_view x_label, std::string_view y_label);
  // Points in pixels. width in pixels; extra: raw SVG attributes appended to the element.
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view color,
                double width = 2.0, std::string_view extra = "");
  void marker(double pixel_x, double pixel_y, std::string_view color, double radius = 3.0);
  // Legend row `row` (from the top of the plot area): a line swatch or a dot, then the text.
  // text_attributes, line_attributes: raw SVG attributes for the text and the swatch.
  void legend_line(std::size_t row, std::string_view text, std::string_view color,
                   std::string_view text_attributes = "", std::string_view line_attributes = "");
  void legend_dot(std::size_t row, std::string_view text, std::string_view color);

  [[nodiscard]] std::string finish();

 private:
  Layout layout_;
  double y_min_ = 0.0;
  double y_max_ = 1.0;
  std::string svg_;
};

// y_max for accuracies up to `largest`: the next tenth above it plus headroom, within [0.1, 1].
[[nodiscard]] double percent_axis_max(double largest);

// About five round ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering [lo, hi], lo < hi.
[[nodiscard]] std::vector<double> nice_ticks(double lo, double hi);

// Text with &, <, > and " as XML entities.
[[nodiscard]] std::string xml_escape(std::string_view text);

}  // namespace clearhouse::eval
