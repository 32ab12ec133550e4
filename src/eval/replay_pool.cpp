#include "eval/replay_pool.h"

#include <cmath>

namespace clearhouse::eval {
namespace {

std::vector<predict::Example> examples_for(const data::Dataset& dataset, std::uint32_t backbone,
                                           std::span<const std::uint32_t> questions) {
  std::vector<predict::Example> out;
  out.reserve(questions.size());
  for (const std::uint32_t q : questions) {
    const data::Run* run = dataset.find_run(backbone, q);
    if (run == nullptr) continue;
    const data::Question& question = dataset.question(q);
    out.push_back({question.question, question.dataset, static_cast<double>(run->output_tokens)});
  }
  return out;
}

}  // namespace

predict::ThresholdPredictor train_predictor(const data::Dataset& dataset, std::uint32_t backbone,
                                            std::span<const std::uint32_t> questions,
                                            predict::FitReport* report,
                                            predict::FitOptions options) {
  options.backbone = std::string(dataset.models()[backbone]);
  const auto examples = examples_for(dataset, backbone, questions);
  return predict::ThresholdPredictor::fit(examples, options, report);
}

SuccessCalibration calibrate_success(const data::Dataset& dataset, std::uint32_t backbone,
                                     std::span<const std::uint32_t> questions,
                                     const predict::FitOptions& options) {
  std::array<std::vector<std::uint32_t>, 2> folds;
  for (std::size_t k = 0; k < questions.size(); ++k) folds[k % 2].push_back(questions[k]);
  std::vector<CalibrationExample> examples;
  for (int f = 0; f < 2; ++f) {
    const auto& fit_on = folds[1 - f];
    const auto& predict_on = folds[f];
    if (examples_for(dataset, backbone, fit_on).size() < 2) continue;
    const auto model = train_predictor(dataset, backbone, fit_on, nullptr, options);
    for (const std::uint32_t q : predict_on) {
      const data::Run* run = dataset.find_run(backbone, q);
      if (run == nullptr) continue;
      const data::Question& question = dataset.question(q);
      examples.push_back({question.dataset, model.predict_log(question.question, question.dataset),
                          static_cast<double>(run->output_tokens), run->correct});
    }
  }
  return SuccessCalibration::fit(examples);
}

ReplayPool build_pool(const data::Dataset& dataset, std::uint32_t backbone,
                      std::optional<std::uint32_t> teacher,
                      std::span<const std::uint32_t> questions,
                      const predict::ThresholdPredictor& predictor,
                      const SuccessCalibration* calibration) {
  ReplayPool pool;
  for (const std::uint32_t q : questions) {
    const data::Run* run = dataset.find_run(backbone, q);
    if (run == nullptr) continue;
    const data::Question& question = dataset.question(q);
    ReplayItem item;
    const double log_tau = predictor.predict_log(question.question, question.dataset);
    item.tau_hat = std::max(1.0, std::exp(log_tau));
    item.log_sigma = predictor.log_sigma(question.question, question.dataset);
    const data::Run* teacher_run = teacher ? dataset.find_run(*teacher, q) : nullptr;
    if (teacher_run != nullptr && teacher_run->output_tokens > 0) {
      item.teacher_tokens = static_cast<double>(teacher_run->output_tokens);
    } else {
      item.teacher_tokens = item.tau_hat;
      ++pool.teacher_missing;
    }
    if (calibration != nullptr) {
      const core::SuccessBelief b = calibration->belief(question.dataset, log_tau);
      item.p_correct = b.p_correct;
      item.log_mu_correct = b.log_mu;
      item.log_sigma_correct = b.log_sigma;
    } else {
      item.p_correct = 1.0;
      item.log_mu_correct = log_tau;
      item.log_sigma_correct = item.log_sigma;
    }
    item.true_tokens = static_cast<double>(run->output_tokens);
    item.correct = run->correct;
    const auto index = static_cast<std::uint32_t>(pool.items.size());
    pool.tiers[static_cast<std::size_t>(tier_of(question.solve_rate))].push_back(index);
    pool.items.push_back(item);
    pool.questions.push_back(q);
  }
  return pool;
}

}  // namespace clearhouse::eval
