// ThresholdPredictor: predicts a question's emergence threshold tau_hat (output tokens the backbone
// model needs) from the question text alone: tau_hat = exp(f(text)), with f a ridge regression on
// TextFeatures fitted to log(max(1, output_tokens)) of one backbone's recorded answers.
//
// Units: predict() returns tokens (>= 1); predict_log() natural-log tokens; log_sigma() the
// standard deviation of log tokens around predict_log() (a spread estimate: a per-question model of
// the out-of-fold residuals, or their std).
//
// The dataset name. A query's dataset (e.g. "gsm", "math-l5": which workload it came from) is known
// at query time, and knowing it helps a lot (docs/predictor.md). So fit() trains two heads: one on
// the text alone, and (FeatureOptions::use_dataset, on by default) one that also sees the dataset.
// predict(text, dataset) uses the second when `dataset` is one seen in training and the text-only
// head otherwise (no dataset given, or a new one), so a missing dataset costs accuracy, never
// correctness. solve_rate and other models' results are never features. Thread-safety: every const
// method may be called concurrently; fit() and load() build new objects. The only I/O is reading
// and writing the model file (model_file.cpp).
//
//   std::vector<Example> train = ...;                       // text, dataset, output_tokens
//   FitReport report;
//   ThresholdPredictor p = ThresholdPredictor::fit(train, FitOptions{}, &report);
//   double tau = p.predict("Janet's ducks lay 16 eggs per day...", "gsm");
//   p.save_file("qwen2.model");  auto q = ThresholdPredictor::load_file("qwen2.model");
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "predict/text_features.h"

namespace clearhouse::predict {

// One training example: the question and the backbone's recorded output length.
struct Example {
  std::string_view text;
  std::string_view dataset;  // may be empty; see "The dataset name" above
  double output_tokens = 0;  // >= 0; the target is log(max(1, output_tokens))
};

struct FitOptions {
  FeatureOptions features;
  // Ridge penalties tried by cross-validation; the one with the lowest out-of-fold RMSE is used.
  std::vector<double> lambdas = {4.0, 16.0, 64.0};
  std::uint32_t cv_folds = 3;  // fold of example i is i % cv_folds; reduced to n if n is smaller
  bool fit_spread = true;      // also fit a per-question spread model on out-of-fold residuals
  double spread_lambda_factor = 64.0;  // its penalty = chosen lambda * this factor
  std::string backbone;  // name of the model whose lengths were fitted (stored in the file)
};

// What cross-validation found for one head.
struct HeadReport {
  std::size_t examples = 0;
  double lambda = 0;            // the chosen penalty
  std::vector<double> lambdas;  // tried
  std::vector<double> cv_rmse;  // out-of-fold RMSE of log tokens, per lambda tried
  double cv_log_mae = 0;        // out-of-fold MAE of log tokens at the chosen lambda
  double residual_std = 0;      // out-of-fold std (RMS) of log residuals
};

struct FitReport {
  HeadReport text_only;
  std::optional<HeadReport> with_dataset;  // present if the dataset-aware head was fitted
  std::vector<std::string> datasets;       // dataset names seen in training, sorted
};

// Thrown by load()/load_file() for a missing, foreign, truncated, corrupt or newer model file.
class ModelFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LinearHead;

class ThresholdPredictor {
 public:
  static constexpr std::uint32_t kFileVersion = 1;

  // Throws std::invalid_argument for fewer than 2 examples, negative or non-finite lengths, or bad
  // options. Deterministic: the same examples in the same order give the same model.
  static ThresholdPredictor fit(std::span<const Example> examples, const FitOptions& options,
                                FitReport* report = nullptr);

  double predict_log(std::string_view text, std::string_view dataset = {}) const;
  double predict(std::string_view text, std::string_view dataset = {}) const;  // tokens, >= 1
  // tau_out[i] = predict(texts[i], datasets[i]); `datasets` may be empty (no dataset given).
  void predict_batch(std::span<const std::string_view> texts,
                     std::span<const std::string_view> datasets, std::span<double> tau_out) const;
  // Std of log tokens for this question (per-question spread model if fitted, else residual_std).
  double log_sigma(std::string_view text, std::string_view dataset = {}) const;
  // Out-of-fold residual std of the head that serves `dataset`.
  double residual_std(std::string_view dataset = {}) const;

  // True if `dataset` selects the dataset-aware head.
  bool knows_dataset(std::string_view dataset) const;
  const std::vector<std::string>& datasets() const { return datasets_; }
  const std::string& backbone() const { return backbone_; }
  std::uint64_t training_examples() const { return training_examples_; }

  // Model file: binary, little-endian, magic "CLHTHRP1", version, heads, checksum (model_file.cpp).
  void save(std::ostream& out) const;
  static ThresholdPredictor load(std::istream& in, const std::string& source = "model");
  void save_file(const std::filesystem::path& path) const;  // throws ModelFileError on I/O failure
  static ThresholdPredictor load_file(const std::filesystem::path& path);

 private:
  friend class ModelFileCodec;
  ThresholdPredictor() = default;
  const LinearHead& head_for(std::string_view dataset) const;

  std::shared_ptr<const LinearHead> text_head_;     // always present
  std::shared_ptr<const LinearHead> dataset_head_;  // may be null
  std::vector<std::string> datasets_;               // sorted; served by dataset_head_
  std::string backbone_;
  std::uint64_t training_examples_ = 0;
};

}  // namespace clearhouse::predict
