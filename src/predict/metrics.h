// Quality metrics for length predictors, on log tokens: mean absolute error and Spearman's rank
// correlation (average ranks for ties), plus the two baselines every report shows beside the
// predictor: the training mean, and a least-squares line on log(1 + question characters).
#pragma once

#include <span>
#include <string_view>

namespace clearhouse::predict {

// Mean |a_i - b_i|; 0 for empty input. Sizes must match (std::invalid_argument otherwise).
double mean_absolute_error(std::span<const double> a, std::span<const double> b);
// Pearson correlation of the ranks; 0 if either side is constant or n < 2.
double spearman(std::span<const double> a, std::span<const double> b);

// log(max(1, tokens)): the target every predictor here is fitted and scored on.
double log_tokens(double tokens);

// y = intercept + slope * log(1 + chars): the "question length alone" baseline.
struct LengthBaseline {
  double intercept = 0;
  double slope = 0;
  static LengthBaseline fit(std::span<const std::string_view> texts, std::span<const double> log_y);
  double predict_log(std::string_view text) const;
};

}  // namespace clearhouse::predict
