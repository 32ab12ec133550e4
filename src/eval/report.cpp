#include "eval/report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace clearhouse::eval {
namespace {

const CellResult* find_cell(const GridResult& r, const std::string& stream, std::int64_t budget,
                            const std::string& policy) {
  for (const auto& c : r.cells) {
    if (c.stream == stream && c.budget == budget && c.policy == policy) return &c;
  }
  return nullptr;
}

bool has_policy(const BenchGrid& grid, std::string_view name) {
  return std::find(grid.policies.begin(), grid.policies.end(), name) != grid.policies.end();
}

}  // namespace

std::string markdown_tables(const GridResult& result, const BenchGrid& grid) {
  std::string out;
  for (const auto& mix : grid.streams) {
    out += fmt::format("\n### {} (accuracy %, mean of {} seeds, ±95% CI half-width)\n\n", mix.name,
                       grid.seeds);
    out += "| policy |";
    for (auto b : grid.budgets) out += fmt::format(" {} tok/q |", b);
    out += "\n| --- |";
    for (std::size_t k = 0; k < grid.budgets.size(); ++k) out += " --- |";
    out += "\n";
    for (const auto& p : grid.policies) {
      out += "| " + p + " |";
      for (auto b : grid.budgets) {
        const CellResult* c = find_cell(result, mix.name, b, p);
        out += fmt::format(" {:.1f} ±{:.1f} |", 100.0 * c->accuracy,
                           100.0 * (c->ci_high - c->ci_low) / 2.0);
      }
      out += "\n";
    }
    if (has_policy(grid, "uniform")) {
      for (const auto& p : grid.policies) {
        if (p == "uniform" || p == "oracle") continue;
        out += "| " + p + " vs uniform |";
        for (auto b : grid.budgets) {
          const double u = find_cell(result, mix.name, b, "uniform")->accuracy;
          const double a = find_cell(result, mix.name, b, p)->accuracy;
          out += u > 0.0 ? fmt::format(" {:.2f}x |", a / u) : std::string(" n/a (uniform 0) |");
        }
        out += "\n";
      }
    }
    if (has_policy(grid, "oracle")) {
      for (const auto& p : grid.policies) {
        if (p == "oracle") continue;
        out += "| oracle - " + p + " (pts) |";
        for (auto b : grid.budgets) {
          const double o = find_cell(result, mix.name, b, "oracle")->accuracy;
          const double a = find_cell(result, mix.name, b, p)->accuracy;
          out += fmt::format(" {:.1f} |", 100.0 * (o - a));
        }
        out += "\n";
      }
    }
  }
  return out;
}

std::string results_csv(const GridResult& result) {
  std::string out =
      "stream,budget,policy,accuracy,ci_low,ci_high,allocated_tokens,consumed_tokens,abandoned\n";
  for (const auto& c : result.cells) {
    out += fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{:.1f},{:.1f},{:.2f}\n", c.stream, c.budget,
                       c.policy, c.accuracy, c.ci_low, c.ci_high, c.allocated_tokens,
                       c.consumed_tokens, c.abandoned);
  }
  return out;
}

nlohmann::json results_json(const GridResult& result) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : result.cells) {
    rows.push_back({{"stream", c.stream},
                    {"budget", c.budget},
                    {"policy", c.policy},
                    {"accuracy", c.accuracy},
                    {"accuracy_ci", {c.ci_low, c.ci_high}},
                    {"allocated_tokens", c.allocated_tokens},
                    {"consumed_tokens", c.consumed_tokens},
                    {"abandoned", c.abandoned}});
  }
  return rows;
}

std::string pareto_svg(const GridResult& result, const BenchGrid& grid, const std::string& stream,
                       const std::string& title) {
  constexpr double kW = 720, kH = 460, kLeft = 70, kRight = 170, kTop = 40, kBottom = 60;
  static constexpr std::array<const char*, 8> kColors{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double n = static_cast<double>(grid.stream_size);
  double x_max = 1.0, y_max = 0.05;
  for (const auto& c : result.cells) {
    if (c.stream != stream) continue;
    x_max = std::max(x_max, c.consumed_tokens / n);
    y_max = std::max(y_max, c.accuracy);
  }
  // Axis ends on round numbers: x on a 1-2-5 step with five intervals, y on tenths.
  const double raw_step = x_max / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw_step) {
      step = m * magnitude;
      break;
    }
  }
  x_max = 5.0 * step;
  y_max = std::min(1.0, std::ceil(y_max * 10.0 + 0.5) / 10.0);
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto px = [&](double x) { return kLeft + pw * x / x_max; };
  auto py = [&](double y) { return kTop + ph * (1.0 - y / y_max); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
      kW, kH, kLeft + pw / 2, title);
  for (int k = 0; k <= 5; ++k) {
    const double y = y_max * k / 5.0, x = x_max * k / 5.0;
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
        "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.0f}%</text>\n",
        kLeft, py(y), kLeft + pw, kLeft - 6, py(y) + 4, 100.0 * y);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
        "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4:.0f}</text>\n",
        px(x), kTop, kTop + ph, kTop + ph + 18, x);
  }
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n"
      "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">consumed tokens per query (mean)</text>\n"
      "<text x=\"18\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {})\">accuracy"
      "</text>\n",
      kLeft, kTop, pw, ph, kLeft + pw / 2, kH - 18, kTop + ph / 2, kTop + ph / 2);
  for (std::size_t p = 0; p < grid.policies.size(); ++p) {
    const auto& name = grid.policies[p];
    const char* color = kColors[p % kColors.size()];
    std::string points;
    for (auto b : grid.budgets) {
      const CellResult* c = find_cell(result, stream, b, name);
      points += fmt::format("{:.1f},{:.1f} ", px(c->consumed_tokens / n), py(c->accuracy));
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
                         px(c->consumed_tokens / n), py(c->accuracy), color);
    }
    svg += fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", points, color);
    const double ly = kTop + 10 + 20.0 * static_cast<double>(p);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
        "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
        kLeft + pw + 12, ly, kLeft + pw + 36, color, kLeft + pw + 42, ly + 4, name);
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace clearhouse::eval
