// Held-out evaluation of a ThresholdPredictor against the two baselines (training mean; a line on
// log question length), on log tokens. Used by `clearhouse train --eval` and by `clearhouse bench`.
//
//   HeldOutReport r = evaluate_held_out(predictor, train_examples, test_examples);
//   r.predictor.log_mae, r.predictor.spearman, r.mean.log_mae, r.length.spearman, ...
#pragma once

#include <cstddef>
#include <span>

#include "predict/threshold_predictor.h"

namespace clearhouse::predict {

struct Scores {
  double log_mae = 0;   // mean |log predicted - log actual|
  double spearman = 0;  // rank correlation of predicted and actual (0 for a constant predictor)
};

struct HeldOutReport {
  std::size_t train_examples = 0;
  std::size_t test_examples = 0;
  Scores predictor;
  Scores mean;    // baseline: predict the training mean of log tokens for every question
  Scores length;  // baseline: least-squares line on log(1 + characters), fitted on train
  // Spread: Gaussian negative log-likelihood per question of the test log tokens (lower is better),
  // with the global residual_std() and with the per-question log_sigma(); and the std of the
  // standardised test residuals under log_sigma() (1 = calibrated).
  double nll_global_sigma = 0;
  double nll_per_question_sigma = 0;
  double z_std_per_question = 0;
};

// `predictor` must have been fitted on `train` only (the baselines are fitted on `train` here).
HeldOutReport evaluate_held_out(const ThresholdPredictor& predictor, std::span<const Example> train,
                                std::span<const Example> test);

}  // namespace clearhouse::predict
