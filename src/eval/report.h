// Rendering the replay grid for people and programs: a markdown table per stream like the paper's
// (accuracy % per budget, gain over uniform, gap to oracle), CSV, JSON, and one SVG plot per stream
// (consumed tokens per query vs accuracy, one line per policy). Pure: returns strings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/bench_grid.h"

namespace clearhouse::eval {

[[nodiscard]] std::string markdown_tables(const GridResult& result, const BenchGrid& grid);
[[nodiscard]] std::string results_csv(const GridResult& result);
[[nodiscard]] nlohmann::json results_json(const GridResult& result);
// One SVG document for one stream.
[[nodiscard]] std::string pareto_svg(const GridResult& result, const BenchGrid& grid,
                                     const std::string& stream, const std::string& title);

}  // namespace clearhouse::eval
