// The market reports' line charts, drawn with eval::SvgChart: several named series of (x, y)
// points, an optional log-scaled x axis, round ticks on axes fitted to the data, a legend and axis
// labels. Points that cannot be drawn (non-finite, or x <= 0 on a log axis) are skipped and break
// the line.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace clearhouse::eval {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
  bool dashed = false;
  bool markers = false;
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;
  std::vector<ChartSeries> series;
};

// The SVG document, 800 x 440 px (legend names longer than 32 characters are cut).
[[nodiscard]] std::string render_svg(const Chart& chart);

}  // namespace clearhouse::eval
