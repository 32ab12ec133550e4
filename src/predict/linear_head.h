// LinearHead: one fitted regressor of the threshold predictor (internal to src/predict): features,
// ridge weights for log tokens, clamping range, out-of-fold residual std and an optional
// per-question spread model (ridge on log squared out-of-fold residuals, calibrated to mean ratio
// 1). ThresholdPredictor holds a text-only head and, when trained with the dataset feature, a
// second head that also sees the dataset name. Const methods are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "predict/text_features.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::predict {

class LinearHead {
 public:
  explicit LinearHead(const FeatureOptions& options) : features_(options) {}

  // Fits on `examples` with `features` (see ThresholdPredictor::fit for the options).
  static LinearHead fit(std::span<const Example> examples, const FeatureOptions& features,
                        const FitOptions& options, HeadReport* report);

  double predict_log(std::string_view text, std::string_view dataset) const;
  double log_sigma(std::string_view text, std::string_view dataset) const;
  double residual_std() const { return residual_std_; }
  double lambda() const { return lambda_; }
  bool has_spread_model() const { return !spread_weights_.empty(); }
  const FeatureOptions& options() const { return features_.options(); }

 private:
  friend class ModelFileCodec;
  double linear(std::span<const float> weights, double intercept, std::string_view text,
                std::string_view dataset) const;

  TextFeatures features_;
  std::vector<float> weights_;  // dense, features_.dimension() entries
  double intercept_ = 0;
  double log_min_ = 0;  // predictions are clamped to the training range of log tokens
  double log_max_ = 0;
  double residual_std_ = 0;
  double lambda_ = 0;
  std::vector<float> spread_weights_;  // empty if no spread model
  double spread_intercept_ = 0;        // log variance = spread_intercept_ + <spread_weights_, x>
};

}  // namespace clearhouse::predict
