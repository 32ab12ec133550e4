// `clearhouse bench`: the paper's replay evaluation on recorded answers (see docs/results.md).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/calibration_file.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "core/policy_registry.h"
#include "core/utility_model.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/split.h"
#include "eval/bench_grid.h"
#include "eval/replay_pool.h"
#include "eval/report.h"
#include "predict/metrics.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::cli {
namespace {

using nlohmann::json;

struct BenchOptions {
  std::string data = "data";
  std::string model = "Qwen2-7B-Instruct";
  std::string budgets = "64,128,256,512";
  std::string streams = "balanced,mostly-easy,mostly-hard,u-shaped";
  std::string policies = core::policy_names(core::PolicyScope::kReplay, ",");
  int seeds = 5;
  std::size_t stream_size = 500;
  std::uint64_t seed = 1;
  std::string teacher = "gpt-4o-2024-08-06";
  std::string out;  // empty: report/, or no files with --json
  std::string predictor;
  std::string questions;  // empty: draw streams
  bool tune = false;
  bool json_output = false;
  bool quiet = false;
};

eval::BenchGrid parse_grid(const BenchOptions& o) {
  eval::BenchGrid grid;
  for (const auto& name : split_list(o.streams)) {
    const auto mix = eval::find_stream(name);
    if (!mix) {
      throw UsageError("--streams: unknown stream '" + name +
                       "' (expected balanced, mostly-easy, mostly-hard, u-shaped)");
    }
    grid.streams.push_back(*mix);
  }
  for (const auto& b : split_list(o.budgets)) {
    grid.budgets.push_back(parse_positive_tokens(b, "--budgets"));
  }
  for (const auto& p : split_list(o.policies)) {
    const auto policy = core::parse_policy(p);
    if (!policy) {
      throw UsageError("--policies: unknown policy '" + p + "' (expected " +
                       core::policy_names(core::PolicyScope::kReplay) + ")");
    }
    grid.policies.push_back(*policy);
  }
  if (grid.streams.empty() || grid.budgets.empty() || grid.policies.empty()) {
    throw UsageError("--streams, --budgets and --policies each need at least one entry");
  }
  if (o.seeds < 1 || o.seeds > 1000) throw UsageError("--seeds: expected 1..1000");
  if (o.stream_size < 1) throw UsageError("--stream-size: must be positive");
  grid.seeds = o.seeds;
  grid.stream_size = o.stream_size;
  grid.seed = o.seed;
  return grid;
}

void log_progress(const BenchOptions& o, const std::string& line) {
  if (!o.quiet) std::fprintf(stderr, "bench: %s\n", line.c_str());
}

// --questions: one `dataset/qid` per line (blank lines and lines starting with '#' skipped), each
// once, in the order given.
std::vector<std::uint32_t> read_question_list(const data::Dataset& dataset,
                                              const std::string& path) {
  std::vector<std::uint32_t> questions;
  std::vector<bool> seen(dataset.questions().size());
  const std::vector<std::string> lines = split_list(read_text(path), '\n');
  for (std::size_t k = 0; k < lines.size(); ++k) {
    std::string id = lines[k];
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    if (id.empty() || id.front() == '#') continue;
    const std::size_t slash = id.find('/');
    const std::optional<std::uint32_t> q =
        slash == std::string::npos ? std::nullopt
                                   : dataset.find_question(std::string_view(id).substr(0, slash),
                                                           std::string_view(id).substr(slash + 1));
    if (!q) {
      throw UsageError(
          fmt::format("{}:{}: unknown question '{}' (expected dataset/qid of "
                      "questions.jsonl)",
                      path, k + 1, id));
    }
    if (seen[*q]) throw UsageError(fmt::format("{}:{}: duplicate question '{}'", path, k + 1, id));
    seen[*q] = true;
    questions.push_back(*q);
  }
  if (questions.empty()) throw UsageError("--questions: " + path + " names no question");
  return questions;
}

// With --questions, the grid's one stream is the listed questions, in their order; each must have
// been answered by the backbone and must not be one the predictor was trained on.
void fix_stream(eval::BenchGrid& grid, const data::Dataset& dataset, const eval::ReplayPool& pool,
                const std::vector<std::uint32_t>& listed, const std::vector<std::uint32_t>& fit_on,
                const BenchOptions& o) {
  for (const std::uint32_t q : listed) {
    const data::Question& question = dataset.question(q);
    if (std::binary_search(fit_on.begin(), fit_on.end(), q)) {
      throw UsageError(
          fmt::format("--questions: {}/{} is one the predictor was trained on; give "
                      "--predictor to evaluate any question",
                      question.dataset, question.qid));
    }
  }
  if (pool.items.size() != listed.size()) {
    for (const std::uint32_t q : listed) {
      if (std::find(pool.questions.begin(), pool.questions.end(), q) == pool.questions.end()) {
        throw UsageError(fmt::format("--questions: {} has no recorded answer to {}/{}", o.model,
                                     dataset.question(q).dataset, dataset.question(q).qid));
      }
    }
  }
  grid.streams = {eval::StreamMix{"questions", {1.0, 0.0, 0.0}}};
  grid.seeds = 1;
  grid.stream_size = listed.size();
  grid.fixed.resize(listed.size());
  for (std::uint32_t k = 0; k < grid.fixed.size(); ++k) grid.fixed[k] = k;
}

void run_bench(const BenchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  eval::BenchGrid grid = parse_grid(o);
  data::Dataset dataset = [&] {
    try {
      return data::load_zeroeval(o.data);
    } catch (const data::DataError& e) {
      throw UsageError(e.what());
    }
  }();
  const std::uint32_t backbone = [&] {
    try {
      return dataset.model_index(o.model);
    } catch (const data::DataError& e) {
      throw UsageError(std::string("--model-name: ") + e.what());
    }
  }();
  std::optional<std::uint32_t> teacher = dataset.find_model(o.teacher);
  if (!teacher && o.teacher != "none") {
    throw UsageError("--teacher: unknown model '" + o.teacher + "' (give a model of " + o.data +
                     " or 'none')");
  }
  log_progress(o, fmt::format("loaded {} questions, {} models, {} runs ({:.2f} s)",
                              dataset.questions().size(), dataset.models().size(),
                              dataset.runs().size(), elapsed()));

  // The predictor never sees an evaluation question: train on the hash split's train part, evaluate
  // on its test part; with --predictor, the model was trained elsewhere and every question is used.
  std::vector<std::uint32_t> eval_questions;
  std::optional<predict::ThresholdPredictor> predictor;
  std::optional<eval::SuccessCalibration> calibration;
  std::vector<double> train_tau_hat;
  std::string predictor_source;
  std::vector<std::uint32_t> fit_on;  // sorted: the predictor's training questions
  const std::vector<std::uint32_t> listed =
      o.questions.empty() ? std::vector<std::uint32_t>() : read_question_list(dataset, o.questions);
  if (o.predictor.empty()) {
    const data::QuestionSplit split = data::split_questions(dataset);
    // --tune: fit on the train split's even half, evaluate on its odd half; test is never read.
    fit_on = split.train;
    eval_questions = split.test;
    if (o.tune) {
      fit_on.clear();
      eval_questions.clear();
      for (std::size_t k = 0; k < split.train.size(); ++k) {
        (k % 2 == 0 ? fit_on : eval_questions).push_back(split.train[k]);
      }
    }
    predictor = eval::train_predictor(dataset, backbone, fit_on);
    calibration = eval::calibrate_success(dataset, backbone, fit_on);
    for (const std::uint32_t q : fit_on) {
      if (dataset.find_run(backbone, q) == nullptr) continue;
      const auto& question = dataset.question(q);
      train_tau_hat.push_back(predictor->predict(question.question, question.dataset));
    }
    predictor_source = fmt::format("trained on {} train-split questions", train_tau_hat.size());
    if (o.tune) predictor_source += " (its even half; evaluated on its odd half: --tune)";
    log_progress(o, fmt::format("trained the threshold predictor and clear-plus's calibration on "
                                "the train split ({:.2f} s)",
                                elapsed()));
  } else {
    if (o.tune) throw UsageError("--tune: not with --predictor (it splits the train split itself)");
    try {
      predictor = predict::ThresholdPredictor::load_file(o.predictor);
    } catch (const predict::ModelFileError& e) {
      throw UsageError(std::string("--predictor: ") + e.what());
    }
    for (std::uint32_t q = 0; q < dataset.questions().size(); ++q) eval_questions.push_back(q);
    calibration = load_calibration_beside(o.predictor);
    predictor_source = "loaded from " + o.predictor;
    if (!calibration) {
      log_progress(o, "no clear-plus calibration beside the predictor (" +
                          calibration_path_for(o.predictor) +
                          "): clear-plus uses the predictor's own spread and p = 1");
    }
  }
  if (!listed.empty()) eval_questions = listed;
  const eval::ReplayPool pool = eval::build_pool(dataset, backbone, teacher, eval_questions,
                                                 *predictor, calibration ? &*calibration : nullptr);
  if (!listed.empty()) fix_stream(grid, dataset, pool, listed, fit_on, o);
  for (std::size_t t = 0; t < eval::kTierCount && grid.fixed.empty(); ++t) {
    const auto tier = static_cast<eval::Tier>(t);
    for (const auto& mix : grid.streams) {
      if (pool.tiers[t].empty() && eval::tier_counts(mix, grid.stream_size)[t] > 0) {
        throw UsageError(
            fmt::format("stream '{}' needs {} questions but {} answered none of "
                        "that tier among the evaluation questions",
                        mix.name, eval::to_string(tier), o.model));
      }
    }
  }
  log_progress(o, fmt::format("evaluation pool: {} questions (easy {}, medium {}, hard {}); "
                              "teacher length missing for {}",
                              pool.items.size(), pool.tiers[0].size(), pool.tiers[1].size(),
                              pool.tiers[2].size(), pool.teacher_missing));

  // clear's paper utility: alpha = 2, beta = 1 / median predicted threshold of the training
  // questions (of the evaluation questions' predictions when the predictor came from elsewhere).
  eval::PolicySettings settings;
  std::vector<double> eval_tau_hat, eval_log_true, eval_log_hat;
  for (const auto& item : pool.items) {
    eval_tau_hat.push_back(item.tau_hat);
    eval_log_hat.push_back(std::log(item.tau_hat));
    eval_log_true.push_back(predict::log_tokens(item.true_tokens));
  }
  settings.clear_utility.beta =
      1.0 / core::median(train_tau_hat.empty() ? eval_tau_hat : train_tau_hat);
  const double log_mae = predict::mean_absolute_error(eval_log_hat, eval_log_true);
  const double rho = predict::spearman(eval_log_hat, eval_log_true);

  const eval::GridResult result = eval::run_grid(
      pool.items, pool.tiers, grid, settings, [&](std::size_t done, std::size_t all) {
        if (done % static_cast<std::size_t>(grid.seeds) == 0) {
          log_progress(
              o, fmt::format("replayed {}/{} streams x seeds ({:.2f} s)", done, all, elapsed()));
        }
      });

  json doc{{"model", o.model},
           {"budgets", grid.budgets},
           {"predictor",
            {{"log_mae", log_mae},
             {"spearman", rho},
             {"source", predictor_source},
             {"evaluated_on", pool.items.size()}}},
           {"streams_drawn_with_replacement", result.with_replacement},
           {"seeds", grid.seeds},
           {"stream_size", grid.stream_size},
           {"teacher", teacher ? o.teacher : std::string("none")},
           {"results", eval::results_json(result)}};
  json gap = json::object();
  for (const auto& p : grid.policies) {
    if (const auto share = eval::gap_closed(result, grid, p);
        share && p != core::Policy::kClear && p != core::Policy::kOracle) {
      gap[std::string(core::to_string(p))] = *share;
    }
  }
  if (!gap.empty()) doc["gap_closed"] = gap;

  std::string notes = fmt::format(
      "# clearhouse bench: {}\n\nPredictor ({}): MAE of ln tokens {:.3f}, Spearman {:.3f} on {} "
      "evaluation questions. Streams of {} queries, {} seeds; budgets are average tokens per "
      "query.\n",
      o.model, predictor_source, log_mae, rho, pool.items.size(), grid.stream_size, grid.seeds);
  if (!result.with_replacement.empty()) {
    std::string names;
    for (const auto& n : result.with_replacement) names += (names.empty() ? "" : ", ") + n;
    notes +=
        "\nDrawn with replacement (a tier held fewer questions than the stream needs): " + names +
        ".\n";
  }
  notes += fmt::format(
      "\nTALE-EP's teacher is {}'s recorded length; the budget instruction TALE-EP puts in the "
      "prompt cannot be replayed on recorded answers.\n",
      teacher ? o.teacher : std::string("none (tau_hat)"));
  const std::string tables =
      eval::markdown_tables(result, grid) + eval::gap_closed_markdown(result, grid);

  // --json alone writes stdout only, so it never replaces a report (e.g. the main job's report/).
  const std::string out_dir = !o.out.empty() ? o.out : o.json_output ? "" : "report";
  if (!out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec) throw UsageError("--out: cannot create " + out_dir + ": " + ec.message());
    write_text_atomic(out_dir + "/results.csv", eval::results_csv(result));
    write_text_atomic(out_dir + "/results.json", doc.dump(2) + "\n");
    write_text_atomic(out_dir + "/results.md", notes + tables);
    for (const auto& mix : grid.streams) {
      write_text_atomic(out_dir + "/pareto-" + mix.name + ".svg",
                        eval::pareto_svg(result, grid, mix.name,
                                         fmt::format("{}: {} stream", o.model, mix.name)));
    }
    log_progress(o, fmt::format("wrote {}/results.{{md,csv,json}} and {} plots ({:.2f} s)", out_dir,
                                grid.streams.size(), elapsed()));
  }
  if (o.json_output) {
    std::puts(doc.dump(2).c_str());
  } else {
    std::fputs((notes + tables).c_str(), stdout);
  }
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Replay evaluation: accuracy of every policy per stream and budget on recorded answers");
  cmd->add_option("--data", opts->data, "ZeroEval data directory (questions.jsonl, runs.csv)")
      ->capture_default_str();
  cmd->add_option("--model-name", opts->model, "Backbone model whose answers are replayed")
      ->capture_default_str();
  cmd->add_option("--budgets", opts->budgets, "Average tokens per query, comma-separated")
      ->capture_default_str();
  cmd->add_option("--streams", opts->streams, "Traffic streams, comma-separated")
      ->capture_default_str();
  cmd->add_option(
         "--policies", opts->policies,
         "Policies, comma-separated, of:\n" + core::policy_help(core::PolicyScope::kReplay))
      ->capture_default_str();
  cmd->add_option("--seeds", opts->seeds, "Streams drawn per cell")->capture_default_str();
  cmd->add_option("--stream-size", opts->stream_size, "Queries per stream")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Base random seed")->capture_default_str();
  cmd->add_option("--teacher", opts->teacher,
                  "Model whose recorded lengths stand in for TALE-EP's teacher ('none': tau_hat)")
      ->capture_default_str();
  cmd->add_option("--predictor", opts->predictor,
                  "Threshold predictor file (from clearhouse train); then every question of --data "
                  "is an evaluation question");
  cmd->add_option("--questions", opts->questions,
                  "Replay exactly these questions (a file: one dataset/qid per line), in this "
                  "order, as one stream named 'questions' instead of drawing streams (one seed)");
  cmd->add_option("--out", opts->out,
                  "Report directory (results.{md,csv,json}, pareto-*.svg); default: report, or "
                  "none with --json");
  cmd->add_flag("--tune", opts->tune,
                "Tuning run: fit on half of the train split and evaluate on the other half (the "
                "test split is not read)");
  cmd->add_flag(
      "--json", opts->json_output,
      "Print the results as JSON on stdout; writes no report files unless --out is given");
  cmd->add_flag("--quiet", opts->quiet, "No progress on stderr");
  cmd->callback([opts, cmd] {
    if (!opts->questions.empty() &&
        (cmd->count("--streams") + cmd->count("--seeds") + cmd->count("--stream-size") > 0)) {
      throw UsageError("--questions replaces --streams, --seeds and --stream-size");
    }
    if (!opts->questions.empty() && opts->tune) {
      throw UsageError("--questions: not with --tune (which never reads the test split)");
    }
    run_bench(*opts);
  });
}

}  // namespace clearhouse::cli
