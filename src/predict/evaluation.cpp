#include "predict/evaluation.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "predict/metrics.h"

namespace clearhouse::predict {
namespace {

double gaussian_nll(double residual, double sigma) {
  return 0.5 * std::log(2.0 * std::numbers::pi * sigma * sigma) +
         0.5 * residual * residual / (sigma * sigma);
}

}  // namespace

HeldOutReport evaluate_held_out(const ThresholdPredictor& predictor, std::span<const Example> train,
                                std::span<const Example> test) {
  if (train.empty() || test.empty()) {
    throw std::invalid_argument("evaluate_held_out: empty train or test set");
  }
  HeldOutReport r;
  r.train_examples = train.size();
  r.test_examples = test.size();

  std::vector<std::string_view> train_texts;
  std::vector<double> train_y;
  double mean_y = 0;
  for (const Example& e : train) {
    train_texts.push_back(e.text);
    train_y.push_back(log_tokens(e.output_tokens));
    mean_y += train_y.back();
  }
  mean_y /= static_cast<double>(train.size());
  const LengthBaseline length = LengthBaseline::fit(train_texts, train_y);

  const std::size_t n = test.size();
  std::vector<double> y(n), pred(n), base_mean(n, mean_y), base_length(n);
  double z2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    y[i] = log_tokens(test[i].output_tokens);
    pred[i] = predictor.predict_log(test[i].text, test[i].dataset);
    base_length[i] = length.predict_log(test[i].text);
    const double residual = y[i] - pred[i];
    const double sigma = predictor.log_sigma(test[i].text, test[i].dataset);
    r.nll_global_sigma += gaussian_nll(residual, predictor.residual_std(test[i].dataset));
    r.nll_per_question_sigma += gaussian_nll(residual, sigma);
    z2 += residual * residual / (sigma * sigma);
  }
  const double dn = static_cast<double>(n);
  r.nll_global_sigma /= dn;
  r.nll_per_question_sigma /= dn;
  r.z_std_per_question = std::sqrt(z2 / dn);
  r.predictor = {mean_absolute_error(pred, y), spearman(pred, y)};
  r.mean = {mean_absolute_error(base_mean, y), 0.0};
  r.length = {mean_absolute_error(base_length, y), spearman(base_length, y)};
  return r;
}

}  // namespace clearhouse::predict
