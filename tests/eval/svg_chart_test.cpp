// SvgChart, the one SVG writer of the reports: the y range maps values to the plot area, every text
// is escaped, round ticks cover the range, and dashed series keep their dash in the legend.
#include "eval/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace clearhouse::eval {
namespace {

TEST(SvgChart, YRangeMapsItsEndsToTheBottomAndTopOfThePlot) {
  SvgChart chart("t", SvgChart::Layout{800, 440, 80, 250, 40, 60});
  chart.set_y_range(-2.0, 3.0);
  EXPECT_DOUBLE_EQ(chart.y_position(-2.0), 40.0 + 340.0);
  EXPECT_DOUBLE_EQ(chart.y_position(3.0), 40.0);
  EXPECT_DOUBLE_EQ(chart.y_position(0.5), 40.0 + 170.0);
}

TEST(SvgChart, EveryTextIsEscaped) {
  SvgChart chart("A & B <model>", SvgChart::Layout{});
  chart.y_tick(0.5, "<half>");
  chart.x_tick(100.0, "\"x\"");
  chart.frame("tokens & more", "y < 1");
  chart.legend_line(0, "Llama & Qwen", "#000", "", " stroke-dasharray=\"6,4\"");
  chart.legend_dot(1, "a<b", "#000");
  const std::string svg = chart.finish();
  for (const char* raw :
       {"A & B", "<model>", "<half>", "\"x\"", "tokens & more", "y < 1", "Llama & Qwen", "a<b"}) {
    EXPECT_EQ(svg.find(raw), std::string::npos) << raw;
  }
  for (const char* escaped : {"A &amp; B &lt;model&gt;", "&lt;half&gt;", "&quot;x&quot;",
                              "tokens &amp; more", "y &lt; 1", "Llama &amp; Qwen", "a&lt;b"}) {
    EXPECT_NE(svg.find(escaped), std::string::npos) << escaped;
  }
  EXPECT_NE(svg.find("stroke-width=\"3\" stroke-dasharray=\"6,4\"/>"), std::string::npos);
}

TEST(SvgChart, NiceTicksAreRoundStepsInsideTheRange) {
  // (0.87 - -0.13) / 5 = 0.2: a step of 2 x 0.1, starting at the first multiple above -0.13.
  const std::vector<double> ticks = nice_ticks(-0.13, 0.87);
  ASSERT_EQ(ticks.size(), 5u);
  EXPECT_EQ(ticks.front(), 0.0);
  EXPECT_FALSE(std::signbit(ticks.front())) << "no -0 label";
  for (std::size_t k = 0; k < ticks.size(); ++k)
    EXPECT_NEAR(ticks[k], 0.2 * static_cast<double>(k), 1e-12);
  // A step of 2.5 x 10^3 for a span of 12,000.
  const std::vector<double> wide = nice_ticks(1000.0, 13000.0);
  ASSERT_EQ(wide.size(), 5u);
  EXPECT_DOUBLE_EQ(wide.front(), 2500.0);
  EXPECT_DOUBLE_EQ(wide.back(), 12500.0);
}

}  // namespace
}  // namespace clearhouse::eval
