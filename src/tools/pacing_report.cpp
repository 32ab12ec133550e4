#include "tools/pacing_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "eval/svg_chart.h"

namespace clearhouse::tools {
namespace {

using tools::PacingOutcome;

std::string percent(double share) {
  return fmt::format("{:.1f}%", 100.0 * share);
}

}  // namespace

std::string pacing_markdown(std::span<const PacingOutcome> outcomes) {
  std::string md =
      "| scenario | requests | budget | utilization | overshoot | abandoned | budget refusals | "
      "capped below need | accuracy | offline CLEAR (hindsight) | ratio |\n"
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const PacingOutcome& o : outcomes) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.3f} |\n",
                      o.scenario.name(), o.requests, o.budget, percent(o.utilization()),
                      o.overshoot, o.abandoned, o.budget_refused, o.capped_below_need,
                      percent(o.accuracy()), percent(o.offline_accuracy()), o.accuracy_ratio());
  }
  return md;
}

std::string pacing_csv(std::span<const PacingOutcome> outcomes) {
  std::string csv =
      "scenario,pattern,demand_multiple,requests,budget,demand_tokens,spent,max_committed,"
      "overshoot,utilization,served,abandoned,budget_refused,abandonment_rate,capped_below_need,"
      "solved,accuracy,offline_solved,offline_accuracy,accuracy_ratio\n";
  for (const PacingOutcome& o : outcomes) {
    csv += fmt::format(
        "{},{},{:g},{},{},{},{},{},{},{:.6f},{},{},{},{:.6f},{},{},{:.6f},{},{:.6f},"
        "{:.6f}\n",
        o.scenario.name(), tools::to_string(o.scenario.pattern), o.scenario.demand_multiple,
        o.requests, o.budget, o.demand_tokens, o.spent, o.max_committed, o.overshoot,
        o.utilization(), o.served, o.abandoned, o.budget_refused, o.abandonment_rate(),
        o.capped_below_need, o.solved, o.accuracy(), o.offline_solved, o.offline_accuracy(),
        o.accuracy_ratio());
  }
  return csv;
}

nlohmann::json pacing_json(std::span<const PacingOutcome> outcomes) {
  nlohmann::json rows = nlohmann::json::array();
  for (const PacingOutcome& o : outcomes) {
    nlohmann::json trace = nlohmann::json::array();
    for (const tools::TracePoint& p : o.trace) {
      trace.push_back(
          {p.seconds, p.committed_tokens, p.even_line_tokens, p.allowance_tokens, p.lambda});
    }
    rows.push_back({{"scenario", o.scenario.name()},
                    {"pattern", tools::to_string(o.scenario.pattern)},
                    {"demand_multiple", o.scenario.demand_multiple},
                    {"requests", o.requests},
                    {"budget", o.budget},
                    {"demand_tokens", o.demand_tokens},
                    {"spent", o.spent},
                    {"max_committed", o.max_committed},
                    {"overshoot", o.overshoot},
                    {"utilization", o.utilization()},
                    {"served", o.served},
                    {"abandoned", o.abandoned},
                    {"budget_refused", o.budget_refused},
                    {"abandonment_rate", o.abandonment_rate()},
                    {"capped_below_need", o.capped_below_need},
                    {"solved", o.solved},
                    {"accuracy", o.accuracy()},
                    {"offline_solved", o.offline_solved},
                    {"offline_accuracy", o.offline_accuracy()},
                    {"accuracy_ratio", o.accuracy_ratio()},
                    {"trace_columns", {"seconds", "committed", "even_line", "allowance", "lambda"}},
                    {"trace", std::move(trace)}});
  }
  return rows;
}

std::string pacing_svg(const PacingOutcome& o, double alpha, double window_seconds,
                       const std::string& title) {
  eval::SvgChart chart(title, {.right = 190});
  chart.set_y_max(1.1);
  chart.y_grid_percent(11);
  const double minutes = window_seconds / 60.0;
  const int ticks = 6;
  for (int k = 0; k <= ticks; ++k) {
    const double unit = static_cast<double>(k) / ticks;
    chart.x_tick(chart.x_position(unit), fmt::format("{:.0f}", unit * minutes));
  }
  chart.frame("minutes into the budget window", "share of the budget (lambda: of alpha)");
  const double b = std::max(1.0, static_cast<double>(o.budget));
  std::vector<std::pair<double, double>> committed, even, allowance, lambda;
  for (const tools::TracePoint& p : o.trace) {
    const double x = chart.x_position(std::clamp(p.seconds / window_seconds, 0.0, 1.0));
    committed.emplace_back(x, chart.y_position(p.committed_tokens / b));
    even.emplace_back(x, chart.y_position(p.even_line_tokens / b));
    allowance.emplace_back(x, chart.y_position(p.allowance_tokens / b));
    lambda.emplace_back(x, chart.y_position(std::min(1.1, p.lambda / alpha)));
  }
  chart.polyline(even, "#7f7f7f", 1.5, "stroke-dasharray=\"6 4\"");
  chart.polyline(allowance, "#2ca02c", 1.5, "stroke-dasharray=\"2 3\"");
  chart.polyline(lambda, "#d62728", 1.2);
  chart.polyline(committed, "#1f77b4", 2.2);
  chart.legend_line(0, "spent + reserved", "#1f77b4");
  chart.legend_line(1, "plan line B t / T", "#7f7f7f");
  chart.legend_line(2, "allowance (+ headroom)", "#2ca02c");
  chart.legend_line(3, "lambda / alpha", "#d62728");
  return chart.finish();
}

}  // namespace clearhouse::tools
