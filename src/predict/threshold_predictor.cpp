#include "predict/threshold_predictor.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "predict/linear_head.h"

namespace clearhouse::predict {

ThresholdPredictor ThresholdPredictor::fit(std::span<const Example> examples,
                                           const FitOptions& options, FitReport* report) {
  if (examples.size() < 2)
    throw std::invalid_argument("predictor: need at least 2 training examples");
  if (options.lambdas.empty()) throw std::invalid_argument("predictor: no lambda");
  for (const double l : options.lambdas) {
    if (!(l > 0.0) || !std::isfinite(l))
      throw std::invalid_argument("predictor: lambda must be > 0");
  }
  std::set<std::string, std::less<>> datasets;
  for (const Example& e : examples) {
    if (!(e.output_tokens >= 0.0) || !std::isfinite(e.output_tokens)) {
      throw std::invalid_argument("predictor: output_tokens must be finite and >= 0");
    }
    if (!e.dataset.empty()) datasets.emplace(e.dataset);
  }
  TextFeatures check(options.features);  // validates the options
  (void)check;

  ThresholdPredictor p;
  p.backbone_ = options.backbone;
  p.training_examples_ = examples.size();
  FeatureOptions text_only = options.features;
  text_only.use_dataset = false;
  FitReport local;
  p.text_head_ = std::make_shared<const LinearHead>(
      LinearHead::fit(examples, text_only, options, &local.text_only));
  // The dataset-aware head needs every example to carry a dataset name.
  const bool all_named = std::all_of(examples.begin(), examples.end(),
                                     [](const Example& e) { return !e.dataset.empty(); });
  if (options.features.use_dataset && all_named) {
    local.with_dataset.emplace();
    p.dataset_head_ = std::make_shared<const LinearHead>(
        LinearHead::fit(examples, options.features, options, &*local.with_dataset));
    p.datasets_.assign(datasets.begin(), datasets.end());
  }
  local.datasets = p.datasets_;
  if (report != nullptr) *report = std::move(local);
  return p;
}

bool ThresholdPredictor::knows_dataset(std::string_view dataset) const {
  return dataset_head_ != nullptr && !dataset.empty() &&
         std::binary_search(datasets_.begin(), datasets_.end(), dataset);
}

const LinearHead& ThresholdPredictor::head_for(std::string_view dataset) const {
  return knows_dataset(dataset) ? *dataset_head_ : *text_head_;
}

double ThresholdPredictor::predict_log(std::string_view text, std::string_view dataset) const {
  return head_for(dataset).predict_log(text, dataset);
}

double ThresholdPredictor::predict(std::string_view text, std::string_view dataset) const {
  return std::max(1.0, std::exp(predict_log(text, dataset)));
}

void ThresholdPredictor::predict_batch(std::span<const std::string_view> texts,
                                       std::span<const std::string_view> datasets,
                                       std::span<double> tau_out) const {
  if (tau_out.size() != texts.size() || (!datasets.empty() && datasets.size() != texts.size())) {
    throw std::invalid_argument("predict_batch: spans differ in length");
  }
  for (std::size_t i = 0; i < texts.size(); ++i) {
    tau_out[i] = predict(texts[i], datasets.empty() ? std::string_view() : datasets[i]);
  }
}

double ThresholdPredictor::log_sigma(std::string_view text, std::string_view dataset) const {
  return head_for(dataset).log_sigma(text, dataset);
}

double ThresholdPredictor::residual_std(std::string_view dataset) const {
  return head_for(dataset).residual_std();
}

}  // namespace clearhouse::predict
