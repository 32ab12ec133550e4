// How per-query shifted-surge parameters are derived from predicted thresholds (docs/allocation.md,
// "Utility parameters": why a query's best utility must not scale with its threshold).
//
//  * paper : one global alpha (2.0 in the paper) and one global beta. beta = 0 means "calibrate":
//            beta = 1 / median(tau) of the thresholds given. Every query peaks at alpha / (beta e),
//            so costlier queries are abandoned first.
//  * scaled: beta_i = kappa / tau_i and alpha_i = v_i e beta_i, so query i peaks at its value v_i
//            (1 unless given) at t = tau_i (1 + 1/kappa): the surge widens with the threshold.
//
// Do not use alpha constant with beta_i = kappa / tau_i: every query then shares one abandonment
// price and CLEAR funds all or nothing.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/surge_utility.h"

namespace clearhouse::core {

enum class UtilityShape { kPaper, kScaled };

[[nodiscard]] std::string_view to_string(UtilityShape shape);
[[nodiscard]] std::optional<UtilityShape> parse_utility_shape(std::string_view name);

struct UtilityModel {
  UtilityShape shape = UtilityShape::kPaper;
  double alpha = 2.0;  // paper: utility per token at the threshold
  double beta = 0.0;   // paper: per token; 0 = 1 / median(tau)
  double kappa = 2.0;  // scaled: dimensionless; peak at tau (1 + 1/kappa)
};

// tau: positive thresholds in tokens. value: empty, or one positive value per query (scaled only).
[[nodiscard]] std::vector<SurgeUtility> build_utilities(std::span<const double> tau,
                                                        const UtilityModel& model,
                                                        std::span<const double> value = {});

// Median of positive values (the mean of the two middle ones for an even count); 0 when empty.
[[nodiscard]] double median(std::span<const double> values);

}  // namespace clearhouse::core
