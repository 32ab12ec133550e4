#include "cli/calibration_file.h"

#include <filesystem>
#include <stdexcept>

#include "cli/errors.h"
#include "cli/io.h"

namespace clearhouse::cli {

std::string calibration_path_for(const std::string& predictor_path) {
  return predictor_path + ".calibration.json";
}

std::optional<eval::SuccessCalibration> load_calibration_beside(const std::string& predictor_path) {
  const std::string path = calibration_path_for(predictor_path);
  if (!std::filesystem::exists(path)) return std::nullopt;
  const auto doc = nlohmann::json::parse(read_text(path), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) throw UsageError(path + ": not valid JSON");
  try {
    return eval::SuccessCalibration::from_json(doc);
  } catch (const std::invalid_argument& e) {
    throw UsageError(path + ": " + e.what());
  }
}

void save_calibration_beside(const std::string& predictor_path,
                             const eval::SuccessCalibration& calibration) {
  write_text_atomic(calibration_path_for(predictor_path), calibration.to_json().dump(2) + "\n");
}

}  // namespace clearhouse::cli
