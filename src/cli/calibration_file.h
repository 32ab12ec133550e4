// The clear-plus calibration sidecar: `<predictor file>.calibration.json`, written by
// `clearhouse train` beside the model and read by `clearhouse bench --predictor`.
#pragma once

#include <optional>
#include <string>

#include "eval/success_calibration.h"

namespace clearhouse::cli {

[[nodiscard]] std::string calibration_path_for(const std::string& predictor_path);

// nullopt when no sidecar exists; UsageError naming the file when it exists but is bad.
[[nodiscard]] std::optional<eval::SuccessCalibration> load_calibration_beside(
    const std::string& predictor_path);

void save_calibration_beside(const std::string& predictor_path,
                             const eval::SuccessCalibration& calibration);

}  // namespace clearhouse::cli
