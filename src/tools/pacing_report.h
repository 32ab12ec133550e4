// The reports of `clearhouse bench-pacer`: the scenario table (markdown, CSV, JSON) and one SVG per
// scenario of committed spend against the plan line and the shadow price over the window. Pure:
// strings in, strings out (the command writes the files).
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "tools/pacing_simulator.h"

namespace clearhouse::tools {

// One row per scenario: utilization, overshoot, abandonment, requests capped below their need,
// accuracy, offline hindsight accuracy and their ratio.
[[nodiscard]] std::string pacing_markdown(std::span<const tools::PacingOutcome> outcomes);
[[nodiscard]] std::string pacing_csv(std::span<const tools::PacingOutcome> outcomes);
[[nodiscard]] nlohmann::json pacing_json(std::span<const tools::PacingOutcome> outcomes);
// Spend, the even line and the allowance line as shares of the budget, and lambda / alpha, over the
// window (x in minutes).
[[nodiscard]] std::string pacing_svg(const tools::PacingOutcome& outcome, double alpha,
                                     double window_seconds, const std::string& title);

}  // namespace clearhouse::tools
