// Rendering the replay grid for people and programs: a markdown table per stream like the paper's
// (accuracy % per budget, gain over uniform, gap to oracle), CSV, JSON, and one SVG plot per stream
// (consumed tokens per query vs accuracy, one line per policy). Pure: returns strings.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/bench_grid.h"

namespace clearhouse::eval {

[[nodiscard]] std::string markdown_tables(const GridResult& result, const BenchGrid& grid);
// The share of the clear -> oracle gap that `policy` closes: (policy - clear) / (oracle - clear)
// per cell (stream x budget), averaged over the cells where oracle - clear exceeds `min_gap`
// (accuracy fraction: 0.01 is one point). nullopt when no cell qualifies or clear or oracle is not
// in the grid.
[[nodiscard]] std::optional<double> gap_closed(const GridResult& result, const BenchGrid& grid,
                                               core::Policy policy, double min_gap = 0.01);
// One line per policy with gap_closed, as markdown; empty without clear and oracle.
[[nodiscard]] std::string gap_closed_markdown(const GridResult& result, const BenchGrid& grid);
[[nodiscard]] std::string results_csv(const GridResult& result);
[[nodiscard]] nlohmann::json results_json(const GridResult& result);
// One SVG document for one stream.
[[nodiscard]] std::string pareto_svg(const GridResult& result, const BenchGrid& grid,
                                     const std::string& stream, const std::string& title);

}  // namespace clearhouse::eval
