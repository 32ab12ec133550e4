#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "eval/svg_chart.h"

namespace clearhouse::eval {
namespace {

const CellResult* find_cell(const GridResult& r, const std::string& stream, std::int64_t budget,
                            core::Policy policy) {
  for (const auto& c : r.cells) {
    if (c.stream == stream && c.budget == budget && c.policy == policy) return &c;
  }
  return nullptr;
}

bool has_policy(const BenchGrid& grid, core::Policy policy) {
  return std::find(grid.policies.begin(), grid.policies.end(), policy) != grid.policies.end();
}

std::string name(core::Policy policy) {
  return std::string(core::to_string(policy));
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
    for (const auto p : grid.policies) {
      out += "| " + name(p) + " |";
      for (auto b : grid.budgets) {
        const CellResult* c = find_cell(result, mix.name, b, p);
        out += fmt::format(" {:.1f} ±{:.1f} |", 100.0 * c->accuracy,
                           100.0 * (c->ci_high - c->ci_low) / 2.0);
      }
      out += "\n";
    }
    using core::Policy;
    if (has_policy(grid, Policy::kUniform)) {
      for (const auto p : grid.policies) {
        if (p == Policy::kUniform || p == Policy::kOracle) continue;
        out += "| " + name(p) + " vs uniform |";
        for (auto b : grid.budgets) {
          const double u = find_cell(result, mix.name, b, Policy::kUniform)->accuracy;
          const double a = find_cell(result, mix.name, b, p)->accuracy;
          out += u > 0.0 ? fmt::format(" {:.2f}x |", a / u) : std::string(" n/a (uniform 0) |");
        }
        out += "\n";
      }
    }
    if (has_policy(grid, Policy::kOracle)) {
      for (const auto p : grid.policies) {
        if (p == Policy::kOracle) continue;
        out += "| oracle - " + name(p) + " (pts) |";
        for (auto b : grid.budgets) {
          const double o = find_cell(result, mix.name, b, Policy::kOracle)->accuracy;
          const double a = find_cell(result, mix.name, b, p)->accuracy;
          out += fmt::format(" {:.1f} |", 100.0 * (o - a));
        }
        out += "\n";
      }
    }
  }
  return out;
}

std::optional<double> gap_closed(const GridResult& result, const BenchGrid& grid,
                                 core::Policy policy, double min_gap) {
  if (!has_policy(grid, core::Policy::kClear) || !has_policy(grid, core::Policy::kOracle) ||
      !has_policy(grid, policy)) {
    return std::nullopt;
  }
  double sum = 0.0;
  int cells = 0;
  for (const auto& mix : grid.streams) {
    for (auto b : grid.budgets) {
      const double c = find_cell(result, mix.name, b, core::Policy::kClear)->accuracy;
      const double o = find_cell(result, mix.name, b, core::Policy::kOracle)->accuracy;
      if (o - c <= min_gap) continue;
      sum += (find_cell(result, mix.name, b, policy)->accuracy - c) / (o - c);
      ++cells;
    }
  }
  if (cells == 0) return std::nullopt;
  return sum / cells;
}

std::string gap_closed_markdown(const GridResult& result, const BenchGrid& grid) {
  std::string out;
  for (const auto& p : grid.policies) {
    if (p == core::Policy::kClear || p == core::Policy::kOracle) continue;
    const auto share = gap_closed(result, grid, p);
    if (!share) return {};
    if (out.empty()) {
      out =
          "\n### Share of the clear -> oracle gap closed (mean over cells where it exceeds one "
          "point)\n\n| policy | gap closed |\n| --- | --- |\n";
    }
    out += fmt::format("| {} | {:.0f}% |\n", core::to_string(p), 100.0 * *share);
  }
  return out;
}

std::string results_csv(const GridResult& result) {
  std::string out =
      "stream,budget,policy,accuracy,ci_low,ci_high,allocated_tokens,consumed_tokens,abandoned\n";
  for (const auto& c : result.cells) {
    out += fmt::format("{},{},{},{:.6f},{:.6f},{:.6f},{:.1f},{:.1f},{:.2f}\n", c.stream, c.budget,
                       core::to_string(c.policy), c.accuracy, c.ci_low, c.ci_high,
                       c.allocated_tokens, c.consumed_tokens, c.abandoned);
  }
  return out;
}

nlohmann::json results_json(const GridResult& result) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : result.cells) {
    rows.push_back({{"stream", c.stream},
                    {"budget", c.budget},
                    {"policy", core::to_string(c.policy)},
                    {"accuracy", c.accuracy},
                    {"accuracy_ci", {c.ci_low, c.ci_high}},
                    {"allocated_tokens", c.allocated_tokens},
                    {"consumed_tokens", c.consumed_tokens},
                    {"abandoned", c.abandoned},
                    {"requests", c.requests}});
  }
  return rows;
}

std::string pareto_svg(const GridResult& result, const BenchGrid& grid, const std::string& stream,
                       const std::string& title) {
  static constexpr std::array<const char*, 11> kColors{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                       "#9467bd", "#8c564b", "#e377c2", "#17becf",
                                                       "#bcbd22", "#7f7f7f", "#000000"};
  const double n = static_cast<double>(grid.stream_size);
  double x_max = 1.0, largest = 0.0;
  for (const auto& c : result.cells) {
    if (c.stream != stream) continue;
    x_max = std::max(x_max, c.consumed_tokens / n);
    largest = std::max(largest, c.accuracy);
  }
  // x ends on a round number: a 1-2-5 step of about a fifth of the range.
  const double raw_step = x_max / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  double step = 10.0 * magnitude;
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw_step) {
      step = m * magnitude;
      break;
    }
  }
  const int intervals = std::max(1, static_cast<int>(std::ceil(x_max / step - 1e-9)));
  x_max = step * intervals;

  SvgChart chart(title, SvgChart::Layout{});
  chart.set_y_max(percent_axis_max(largest));
  chart.y_grid_percent(5);
  for (int k = 0; k <= intervals; ++k) {
    chart.x_tick(chart.x_position(static_cast<double>(k) / intervals),
                 fmt::format("{:.0f}", step * k));
  }
  chart.frame("consumed tokens per query (mean)", "accuracy");
  for (std::size_t p = 0; p < grid.policies.size(); ++p) {
    const char* color = kColors[p % kColors.size()];
    std::vector<std::pair<double, double>> points;
    for (auto b : grid.budgets) {
      const CellResult* c = find_cell(result, stream, b, grid.policies[p]);
      points.emplace_back(chart.x_position(c->consumed_tokens / n / x_max),
                          chart.y_position(c->accuracy));
      chart.marker(points.back().first, points.back().second, color);
    }
    chart.polyline(points, color);
    chart.legend_line(p, name(grid.policies[p]), color);
  }
  return chart.finish();
}

}  // namespace clearhouse::eval
