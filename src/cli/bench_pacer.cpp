// `clearhouse bench-pacer`: the online pacer and the ledger through simulated arrival patterns and
// demand levels, on recorded answers (tools/pacing_simulator.h; docs/gateway-pacing.md).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/split.h"
#include "eval/replay_pool.h"
#include "ledger/error.h"
#include "tools/pacing_report.h"
#include "tools/pacing_simulator.h"

namespace clearhouse::cli {
namespace {

struct BenchPacerOptions {
  std::string data = "data";
  std::string model = "Qwen2-7B-Instruct";
  std::string patterns = "steady,burst,diurnal,flash-crowd,trickle";
  std::string demands = "0.3,1,3,10";
  std::size_t requests = 2000;
  std::int64_t window_seconds = 3600;
  std::uint64_t seed = 1;
  double headroom = 0.1;
  double price_band = 0.05;
  std::string out = "report-pacer";
  bool quiet = false;
};

std::vector<tools::PacingScenario> parse_scenarios(const BenchPacerOptions& o) {
  std::vector<tools::ArrivalPattern> patterns;
  for (const auto& name : split_list(o.patterns)) {
    const auto p = tools::parse_arrival_pattern(name);
    if (!p) {
      throw UsageError("--patterns: unknown pattern '" + name +
                       "' (expected steady, burst, diurnal, flash-crowd, trickle)");
    }
    patterns.push_back(*p);
  }
  std::vector<double> demands;
  for (const auto& d : split_list(o.demands)) {
    double v = 0.0;
    try {
      std::size_t used = 0;
      v = std::stod(d, &used);
      if (used != d.size()) throw std::invalid_argument(d);
    } catch (const std::exception&) {
      throw UsageError("--demands: '" + d + "' is not a number");
    }
    if (!(v > 0.0) || v > 1000.0) throw UsageError("--demands: '" + d + "' must be in (0, 1000]");
    demands.push_back(v);
  }
  if (patterns.empty() || demands.empty()) {
    throw UsageError("--patterns and --demands each need at least one entry");
  }
  std::vector<tools::PacingScenario> out;
  for (const auto p : patterns) {
    for (const double d : demands) out.push_back({p, d});
  }
  return out;
}

// The test split's answers of the backbone, with tau_hat from a predictor trained on the train
// split.
std::vector<tools::RecordedAnswer> load_answers(const BenchPacerOptions& o) {
  data::Dataset dataset = [&] {
    try {
      return data::load_zeroeval(o.data);
    } catch (const data::DataError& e) {
      throw UsageError(e.what());
    }
  }();
  std::uint32_t backbone = 0;
  try {
    backbone = dataset.model_index(o.model);
  } catch (const data::DataError& e) {
    throw UsageError(std::string("--model-name: ") + e.what());
  }
  const data::QuestionSplit split = data::split_questions(dataset);
  const predict::ThresholdPredictor predictor =
      eval::train_predictor(dataset, backbone, split.train);
  const eval::ReplayPool pool =
      eval::build_pool(dataset, backbone, std::nullopt, split.test, predictor, nullptr);
  std::vector<tools::RecordedAnswer> answers;
  for (const eval::ReplayItem& item : pool.items) {
    const auto length = static_cast<std::int64_t>(std::llround(item.true_tokens));
    if (length >= 1) answers.push_back({item.tau_hat, length, item.correct});
  }
  if (answers.empty()) {
    throw UsageError(
        fmt::format("{} has no answer of {} among the test split's questions", o.data, o.model));
  }
  return answers;
}

void validate(const BenchPacerOptions& o) {
  if (o.requests < 10 || o.requests > 1'000'000)
    throw UsageError("--requests: expected 10..1000000");
  if (o.window_seconds < 1) throw UsageError("--window-seconds: must be >= 1");
  if (!(o.headroom >= 0.0 && o.headroom <= 1.0)) throw UsageError("--headroom: expected [0, 1]");
  if (!(o.price_band > 0.0 && o.price_band <= 1.0)) {
    throw UsageError("--price-band: expected (0, 1]");
  }
}

void run_bench_pacer(const BenchPacerOptions& o) {
  validate(o);
  const auto scenarios = parse_scenarios(o);
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const auto answers = load_answers(o);
  if (!o.quiet) {
    std::fprintf(stderr,
                 "bench-pacer: %zu recorded answers of %s (test split), tau_hat from the "
                 "predictor trained on the train split\n",
                 answers.size(), o.model.c_str());
  }
  tools::PacingSimOptions sim;
  sim.requests = o.requests;
  sim.window_seconds = o.window_seconds;
  sim.seed = o.seed;
  sim.pacer.headroom_share = o.headroom;
  sim.pacer.price_band_share = o.price_band;
  const auto scratch = std::filesystem::temp_directory_path() /
                       fmt::format("clearhouse-bench-pacer-{}", static_cast<long>(getpid()));
  std::filesystem::create_directories(scratch);
  sim.ledger_dir = scratch.string();

  std::vector<tools::PacingOutcome> outcomes;
  for (const auto& scenario : scenarios) {
    try {
      outcomes.push_back(tools::simulate_pacing(scenario, answers, sim));
    } catch (const ledger::LedgerError& e) {
      std::filesystem::remove_all(scratch);
      throw UsageError(std::string("ledger in ") + scratch.string() + ": " + e.what());
    }
    if (!o.quiet) std::fprintf(stderr, "bench-pacer: %s done\n", scenario.name().c_str());
  }
  std::filesystem::remove_all(scratch);

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) throw UsageError("--out: cannot create " + o.out + ": " + ec.message());
  const std::string table = pacing_markdown(outcomes);
  write_text_atomic(o.out + "/results.md", table);
  write_text_atomic(o.out + "/results.csv", pacing_csv(outcomes));
  write_text_atomic(o.out + "/results.json", pacing_json(outcomes).dump(1) + "\n");
  for (const auto& outcome : outcomes) {
    const std::string name = outcome.scenario.name();
    write_text_atomic(o.out + "/pacing-" + name + ".svg",
                      pacing_svg(outcome, sim.pacer.alpha, static_cast<double>(o.window_seconds),
                                 fmt::format("{}: {} requests, budget {} tokens", name,
                                             outcome.requests, outcome.budget)));
  }
  std::fputs(table.c_str(), stdout);
  if (!o.quiet) {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::fprintf(stderr,
                 "bench-pacer: wrote %s/results.{md,csv,json} and %zu plots (%.2f s wall, "
                 "%.2f s CPU)\n",
                 o.out.c_str(), outcomes.size(), wall, cpu);
  }
}

}  // namespace

void add_bench_pacer_command(CLI::App& app) {
  auto opts = std::make_shared<BenchPacerOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-pacer",
      "Simulate the online pacer and the ledger under arrival patterns and demand levels");
  cmd->add_option("--data", opts->data, "ZeroEval data directory (questions.jsonl, runs.csv)")
      ->capture_default_str();
  cmd->add_option("--model-name", opts->model, "Backbone model whose answers are replayed")
      ->capture_default_str();
  cmd->add_option("--patterns", opts->patterns, "Arrival patterns, comma-separated")
      ->capture_default_str();
  cmd->add_option("--demands", opts->demands, "Demand as multiples of the budget, comma-separated")
      ->capture_default_str();
  cmd->add_option("--requests", opts->requests, "Requests per window (the trickle: a tenth)")
      ->capture_default_str();
  cmd->add_option("--window-seconds", opts->window_seconds, "Budget window, simulated seconds")
      ->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->add_option("--headroom", opts->headroom, "pacer.headroom_share")->capture_default_str();
  cmd->add_option("--price-band", opts->price_band, "pacer.price_band_share")
      ->capture_default_str();
  cmd->add_option("--out", opts->out, "Report directory")->capture_default_str();
  cmd->add_flag("--quiet", opts->quiet, "No progress on stderr");
  cmd->callback([opts] { run_bench_pacer(*opts); });
}

}  // namespace clearhouse::cli
