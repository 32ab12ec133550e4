// What clear-plus believes about a query beyond its predicted length, learnt on training questions
// only: the probability that the backbone answers it correctly, and where a *correct* answer's
// length sits relative to the predictor's estimate.
//
// Fitted per dataset (e.g. "gsm", "math-l5") from examples (dataset, predicted ln length, true
// length, correct), where the prediction must be out-of-fold (never from a model that saw the
// question):
//   * p_correct: the share correct within quantile bins of the predicted ln length (longer
//   predicted
//     answers are wrong more often), shrunk toward the dataset's overall rate;
//   * correct answers' residuals r = ln(true length) - predicted: their mean (shift) and std.
// A dataset not seen in calibration falls back to the pooled figures.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/expected_success.h"

namespace clearhouse::eval {

struct CalibrationExample {
  std::string_view dataset;
  double predicted_log = 0.0;  // out-of-fold ln tokens
  double true_tokens = 0.0;
  bool correct = false;
};

class SuccessCalibration {
 public:
  static constexpr int kBins = 5;

  // Throws std::invalid_argument when there are no examples.
  static SuccessCalibration fit(std::span<const CalibrationExample> examples);

  // The belief for a query with this dataset and predicted ln length.
  [[nodiscard]] core::SuccessBelief belief(std::string_view dataset, double predicted_log) const;

  struct Group {
    std::vector<double> edges;  // kBins - 1 inner quantile edges of predicted_log
    std::vector<double> p_bin;  // kBins shrunk success rates
    double shift = 0.0;         // mean residual of correct answers
    double spread = 0.5;        // std of those residuals
    std::size_t examples = 0;
  };
  [[nodiscard]] const std::map<std::string, Group, std::less<>>& groups() const { return groups_; }
  [[nodiscard]] const Group& pooled() const { return pooled_; }

  // Round trip through JSON (the sidecar file `clearhouse train` writes beside a predictor).
  // from_json throws std::invalid_argument naming the bad key.
  [[nodiscard]] nlohmann::json to_json() const;
  static SuccessCalibration from_json(const nlohmann::json& j);

 private:
  std::map<std::string, Group, std::less<>> groups_;
  Group pooled_;
};

}  // namespace clearhouse::eval
