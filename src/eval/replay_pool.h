// Building the replay's candidate questions from the ZeroEval records: one ReplayItem per question
// the backbone answered, with the predictor's estimates (the only thing policies see) beside the
// recorded outcome (what the replay scores), grouped into difficulty tiers.
//
// Also trains what the evaluation needs on training questions only: the threshold predictor and
// clear-plus's success calibration (out-of-fold predictions from a 2-fold cross-fit, so no
// calibration example was ever seen by the model that predicted it).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "data/dataset.h"
#include "eval/replay.h"
#include "eval/streams.h"
#include "eval/success_calibration.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::eval {

struct ReplayPool {
  std::vector<ReplayItem> items;
  std::vector<std::uint32_t> questions;                      // Dataset question index of each item
  std::array<std::vector<std::uint32_t>, kTierCount> tiers;  // indices into items
  std::size_t teacher_missing = 0;  // items whose teacher had no run (tau_hat stands in)
};

// questions: candidate question indices; those the backbone did not answer are skipped.
// teacher: the model whose recorded length is TALE-EP's estimate (nullopt: tau_hat throughout).
// calibration: may be null (clear-plus then trusts the predictor: p = 1, its own spread).
[[nodiscard]] ReplayPool build_pool(const data::Dataset& dataset, std::uint32_t backbone,
                                    std::optional<std::uint32_t> teacher,
                                    std::span<const std::uint32_t> questions,
                                    const predict::ThresholdPredictor& predictor,
                                    const SuccessCalibration* calibration);

// Fits the threshold predictor on the backbone's answers to `questions`.
// options.backbone is set from the dataset.
[[nodiscard]] predict::ThresholdPredictor train_predictor(const data::Dataset& dataset,
                                                          std::uint32_t backbone,
                                                          std::span<const std::uint32_t> questions,
                                                          predict::FitReport* report = nullptr,
                                                          predict::FitOptions options = {});

// clear-plus's calibration from a 2-fold cross-fit over `questions` (training questions only).
// Each fold's predictor is fitted with `options` (as the final predictor is).
[[nodiscard]] SuccessCalibration calibrate_success(const data::Dataset& dataset,
                                                   std::uint32_t backbone,
                                                   std::span<const std::uint32_t> questions,
                                                   const predict::FitOptions& options = {});

}  // namespace clearhouse::eval
