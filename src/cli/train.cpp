// `clearhouse train`: fits the threshold predictor to one backbone model's recorded output lengths
// and writes a model file; `--eval` reports held-out quality (train split -> test split) beside the
// two baselines. See docs/predictor.md.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/calibration_file.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/split.h"
#include "eval/replay_pool.h"
#include "predict/evaluation.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::cli {
namespace {

struct TrainOptions {
  std::string data_dir;
  std::string model_name;
  std::string out;
  std::string split = "all";
  bool eval = false;
  bool json = false;
  bool text_only = false;
  std::vector<double> lambdas = predict::FitOptions{}.lambdas;
  std::uint32_t hash_bits = predict::FeatureOptions{}.hash_bits;
};

// Every question of `questions` that `model` answered, as training examples (views into `ds`).
std::vector<predict::Example> examples_of(const data::Dataset& ds, std::uint32_t model,
                                          const std::vector<std::uint32_t>& questions) {
  std::vector<predict::Example> out;
  out.reserve(questions.size());
  for (const std::uint32_t q : questions) {
    if (const data::Run* run = ds.find_run(model, q)) {
      const data::Question& question = ds.question(q);
      out.push_back({question.question, question.dataset, static_cast<double>(run->output_tokens)});
    }
  }
  return out;
}

predict::ThresholdPredictor fit_or_fail(const std::vector<predict::Example>& examples,
                                        const predict::FitOptions& options,
                                        predict::FitReport* report) {
  try {
    return predict::ThresholdPredictor::fit(examples, options, report);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("cannot train: ") + e.what());
  }
}

void run_train(const TrainOptions& o) {
  if (o.out.empty() && !o.eval) throw UsageError("nothing to do: give --out FILE and/or --eval");
  if (o.split != "all" && o.split != "train") {
    throw UsageError("--split: expected all or train, got '" + o.split + "'");
  }
  const auto start = std::chrono::steady_clock::now();
  std::optional<data::Dataset> loaded;
  std::uint32_t model = 0;
  try {
    loaded.emplace(data::load_zeroeval(o.data_dir));
    model = loaded->model_index(o.model_name);
  } catch (const data::DataError& e) {
    throw UsageError(e.what());
  }
  const data::Dataset& ds = *loaded;
  const data::QuestionSplit split = data::split_questions(ds);
  std::vector<std::uint32_t> all(ds.questions().size());
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;

  predict::FitOptions fit_options;
  fit_options.features.use_dataset = !o.text_only;
  fit_options.features.hash_bits = o.hash_bits;
  fit_options.lambdas = o.lambdas;
  fit_options.backbone = o.model_name;

  if (o.eval) {
    const auto train = examples_of(ds, model, split.train);
    const auto test = examples_of(ds, model, split.test);
    if (test.empty()) throw UsageError("--eval: model " + o.model_name + " has no test questions");
    predict::FitReport fit_report;
    const auto predictor = fit_or_fail(train, fit_options, &fit_report);
    const predict::HeldOutReport r = predict::evaluate_held_out(predictor, train, test);
    const predict::HeadReport& head =
        fit_report.with_dataset ? *fit_report.with_dataset : fit_report.text_only;
    if (o.json) {
      const nlohmann::json j = {
          {"model", o.model_name},
          {"train_questions", r.train_examples},
          {"test_questions", r.test_examples},
          {"lambda", head.lambda},
          {"uses_dataset", fit_report.with_dataset.has_value()},
          {"predictor", {{"log_mae", r.predictor.log_mae}, {"spearman", r.predictor.spearman}}},
          {"baseline_mean", {{"log_mae", r.mean.log_mae}, {"spearman", r.mean.spearman}}},
          {"baseline_length", {{"log_mae", r.length.log_mae}, {"spearman", r.length.spearman}}},
          {"spread",
           {{"residual_std", head.residual_std},
            {"nll_global_sigma", r.nll_global_sigma},
            {"nll_per_question_sigma", r.nll_per_question_sigma},
            {"z_std_per_question", r.z_std_per_question}}}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf(
          "%s", fmt::format("held-out evaluation of the threshold predictor for {}\n"
                            "train questions {} / test questions {} (hash split, ~30% test); "
                            "{}; chosen lambda {}\n\n"
                            "| predictor | MAE of log tokens | Spearman rho |\n"
                            "| --- | ---: | ---: |\n"
                            "| ridge on text features | {:.3f} | {:.3f} |\n"
                            "| baseline: training mean | {:.3f} | - |\n"
                            "| baseline: question length | {:.3f} | {:.3f} |\n\n"
                            "spread: residual std {:.3f}; test NLL global sigma {:.3f}, "
                            "per-question sigma {:.3f} (z std {:.2f})\n",
                            o.model_name, r.train_examples, r.test_examples,
                            fit_report.with_dataset ? "text + dataset name" : "text only",
                            head.lambda, r.predictor.log_mae, r.predictor.spearman, r.mean.log_mae,
                            r.length.log_mae, r.length.spearman, head.residual_std,
                            r.nll_global_sigma, r.nll_per_question_sigma, r.z_std_per_question)
                    .c_str());
    }
  }

  if (!o.out.empty()) {
    const auto examples = examples_of(ds, model, o.split == "all" ? all : split.train);
    predict::FitReport fit_report;
    const auto predictor = fit_or_fail(examples, fit_options, &fit_report);
    const predict::HeadReport& report =
        fit_report.with_dataset ? *fit_report.with_dataset : fit_report.text_only;
    try {
      predictor.save_file(o.out);
    } catch (const predict::ModelFileError& e) {
      throw UsageError(e.what());
    }
    // clear-plus's success calibration, from out-of-fold predictions on the same questions, beside
    // the model (read by `clearhouse bench --predictor`).
    save_calibration_beside(
        o.out,
        eval::calibrate_success(ds, model, o.split == "all" ? all : split.train, fit_options));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(
        stderr, "%s",
        fmt::format("clearhouse train: {} questions of {} ({} split), lambda {}, "
                    "out-of-fold MAE of log tokens {:.3f}, residual std {:.3f}; wrote {} "
                    "and its clear-plus calibration {} in {:.2f} s\n",
                    report.examples, o.model_name, o.split, report.lambda, report.cv_log_mae,
                    report.residual_std, o.out, calibration_path_for(o.out), seconds)
            .c_str());
  }
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Fit the threshold predictor (question text -> output tokens) to one model's runs");
  cmd->add_option("--data", o->data_dir,
                  "Folder with questions.jsonl and runs.csv (or its parent holding zeroeval/)")
      ->required();
  cmd->add_option("--model-name", o->model_name, "Backbone model whose output lengths are fitted")
      ->required();
  cmd->add_option("--out", o->out, "Model file to write");
  cmd->add_option("--split", o->split,
                  "Questions to train on: all (default) or train (the hash split's ~70%)");
  cmd->add_flag("--eval", o->eval,
                "Print held-out quality: fit on the train split, score on the test split");
  cmd->add_flag("--json", o->json, "With --eval: print one JSON object instead of a table");
  cmd->add_flag("--text-only", o->text_only,
                "Fit only the text head (by default a second head also sees the dataset name)");
  cmd->add_option("--lambda", o->lambdas, "Ridge penalties tried by 3-fold cross-validation")
      ->delimiter(',');
  cmd->add_option("--hash-bits", o->hash_bits, "log2 of the hashed feature slots (10-24)")
      ->check(CLI::Range(10, 24));
  cmd->callback([o] { run_train(*o); });
}

}  // namespace clearhouse::cli
