#include "predict/linear_head.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "predict/ridge.h"

namespace clearhouse::predict {
namespace {

// Spread-model target: log(r^2 + kSpreadFloor); keeps log finite for tiny residuals.
constexpr double kSpreadFloor = 1e-3;
// Per-question log-std predictions are clamped to this range (natural-log units of tokens).
constexpr double kMinLogSigma = 0.02;
constexpr double kMaxLogSigma = 3.0;

std::vector<float> to_float(const std::vector<double>& w) {
  std::vector<float> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) out[i] = static_cast<float>(w[i]);
  return out;
}

}  // namespace

LinearHead LinearHead::fit(std::span<const Example> examples, const FeatureOptions& features,
                           const FitOptions& options, HeadReport* report) {
  const std::size_t n = examples.size();
  LinearHead h(features);
  const std::uint32_t dim = h.features_.dimension();

  SparseRows rows;
  FeatureBuffer buffer;
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = std::log(std::max(1.0, examples[i].output_tokens));
    h.features_.extract(examples[i].text, examples[i].dataset, buffer);
    rows.add_row(buffer);
  }
  const std::vector<double> gram = gram_matrix(rows, dim);

  // Choose lambda and get out-of-fold predictions.
  const std::uint32_t folds =
      static_cast<std::uint32_t>(std::min<std::size_t>(std::max(options.cv_folds, 2u), n));
  const CrossValidation cv = cross_validate(gram, n, y, options.lambdas, folds);
  std::vector<double> residual(n);
  double sse = 0, sae = 0;
  for (std::size_t i = 0; i < n; ++i) {
    residual[i] = y[i] - cv.oof_predictions[i];
    sse += residual[i] * residual[i];
    sae += std::abs(residual[i]);
  }

  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  const DualRidgeFit fit = fit_dual_ridge(gram, n, all, y, cv.best_lambda);
  h.weights_ = to_float(primal_weights(rows, all, fit.alpha, dim));
  h.intercept_ = fit.intercept;
  h.log_min_ = *std::min_element(y.begin(), y.end());
  h.log_max_ = *std::max_element(y.begin(), y.end());
  h.residual_std_ = std::sqrt(sse / static_cast<double>(n));
  h.lambda_ = cv.best_lambda;

  if (options.fit_spread) {
    std::vector<double> z(n);
    for (std::size_t i = 0; i < n; ++i) z[i] = std::log(residual[i] * residual[i] + kSpreadFloor);
    const DualRidgeFit spread =
        fit_dual_ridge(gram, n, all, z, cv.best_lambda * options.spread_lambda_factor);
    // Calibrate the level so that the mean of r^2 / predicted variance is 1 on the training set.
    double ratio = 0;
    for (std::size_t i = 0; i < n; ++i) {
      ratio += residual[i] * residual[i] / std::exp(predict_row(spread, gram, n, all, i));
    }
    ratio /= static_cast<double>(n);
    h.spread_weights_ = to_float(primal_weights(rows, all, spread.alpha, dim));
    h.spread_intercept_ = spread.intercept + std::log(std::max(ratio, 1e-12));
  }

  if (report != nullptr) {
    report->examples = n;
    report->lambda = cv.best_lambda;
    report->lambdas = options.lambdas;
    report->cv_rmse = cv.rmse;
    report->cv_log_mae = sae / static_cast<double>(n);
    report->residual_std = h.residual_std_;
  }
  return h;
}

double LinearHead::linear(std::span<const float> weights, double intercept, std::string_view text,
                          std::string_view dataset) const {
  thread_local FeatureBuffer buffer;
  features_.extract(text, dataset, buffer);
  double s = intercept;
  const std::size_t m = buffer.index.size();
  const std::uint32_t* idx = buffer.index.data();
  const float* val = buffer.value.data();
  const float* w = weights.data();
  for (std::size_t k = 0; k < m; ++k) s += static_cast<double>(w[idx[k]] * val[k]);
  return s;
}

double LinearHead::predict_log(std::string_view text, std::string_view dataset) const {
  return std::clamp(linear(weights_, intercept_, text, dataset), log_min_, log_max_);
}

double LinearHead::log_sigma(std::string_view text, std::string_view dataset) const {
  if (spread_weights_.empty()) return residual_std_;
  const double log_var = linear(spread_weights_, spread_intercept_, text, dataset);
  return std::clamp(std::exp(0.5 * log_var), kMinLogSigma, kMaxLogSigma);
}

}  // namespace clearhouse::predict
