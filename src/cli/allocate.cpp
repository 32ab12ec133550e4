// `clearhouse allocate`: JSONL queries in, a per-query max_tokens plan out (see docs/allocation.md).
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "cli/query_records.h"
#include "core/clear_allocation.h"
#include "core/integerize.h"
#include "core/policies.h"
#include "core/utility_model.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::cli {
namespace {

using nlohmann::json;

struct AllocateOptions {
  std::string input = "-";
  std::string budget;
  std::string per_query;
  std::string policy = "clear";
  std::string solver = "exact";
  std::string utility = "paper";
  double alpha = 2.0;
  double beta = 0.0;
  double kappa = 2.0;
  double min_tokens = 0.0;
  double max_tokens = 0.0;  // 0 = no upper clip
  std::string out = "-";
  std::string summary;
  std::string predictor;  // model file: fills tau for queries that carry a prompt instead
};

std::vector<double> field_values(const std::vector<QueryRecord>& records,
                                 std::optional<double> QueryRecord::*field) {
  std::vector<double> v(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) v[i] = *(records[i].*field);
  return v;
}

std::vector<core::SurgeUtility> utilities_for(const std::vector<QueryRecord>& records,
                                              const std::vector<double>& tau,
                                              const AllocateOptions& o,
                                              core::UtilityModel* model_out) {
  const auto shape = core::parse_utility_shape(o.utility);
  if (!shape) throw UsageError("--utility: expected paper or scaled, got '" + o.utility + "'");
  core::UtilityModel model{*shape, o.alpha, o.beta, o.kappa};
  if (model.shape == core::UtilityShape::kPaper && model.beta <= 0.0) {
    model.beta = 1.0 / core::median(tau);  // calibrated on this batch (documented)
  }
  std::vector<double> value;
  bool any_value = false;
  for (const auto& r : records) any_value = any_value || r.value.has_value();
  if (any_value) {
    value.resize(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) value[i] = records[i].value.value_or(1.0);
  }
  auto utilities = core::build_utilities(tau, model, value);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].alpha) utilities[i].alpha = *records[i].alpha;
    if (records[i].beta) utilities[i].beta = *records[i].beta;
  }
  *model_out = model;
  return utilities;
}

void run_allocate(const AllocateOptions& o) {
  const auto policy = core::parse_policy(o.policy);
  if (!policy) {
    throw UsageError("--policy: unknown policy '" + o.policy + "' (expected " +
                     std::string(core::policy_names()) + ")");
  }
  if (o.solver != "exact" && o.solver != "bisection") {
    throw UsageError("--solver: expected exact or bisection, got '" + o.solver + "'");
  }
  if (o.budget.empty() == o.per_query.empty()) {
    throw UsageError("give exactly one of --budget TOKENS (total) or --per-query TOKENS");
  }
  if (!(o.alpha > 0.0) || !(o.kappa > 0.0) || o.beta < 0.0 || o.min_tokens < 0.0 ||
      o.max_tokens < 0.0) {
    throw UsageError("--alpha and --kappa must be > 0; --beta, --min-tokens, --max-tokens >= 0");
  }
  const std::string source = o.input == "-" ? std::string("<stdin>") : o.input;
  std::vector<QueryRecord> records = parse_query_records(read_text(o.input), source);
  std::size_t predicted = 0;
  if (!o.predictor.empty()) {
    const predict::ThresholdPredictor predictor = [&] {
      try {
        return predict::ThresholdPredictor::load_file(o.predictor);
      } catch (const predict::ModelFileError& e) {
        throw UsageError(std::string("--predictor: ") + e.what());
      }
    }();
    for (auto& r : records) {
      if (r.tau || !r.prompt) continue;
      r.tau = predictor.predict(*r.prompt, r.dataset.value_or(""));
      ++predicted;
    }
  }
  const auto n = static_cast<std::int64_t>(records.size());
  const std::int64_t budget = o.budget.empty()
                                  ? parse_positive_tokens(o.per_query, "--per-query") * n
                                  : parse_positive_tokens(o.budget, "--budget");

  if (*policy == core::Policy::kOracle) {
    require_field(records, source, "tokens_needed");
    require_field(records, source, "correct");
  }
  if (*policy == core::Policy::kTaleEp) require_field(records, source, "teacher_tau");
  if (*policy != core::Policy::kOracle && *policy != core::Policy::kUniform) {
    require_field(records, source, "tau");
  }
  // The plan's model utility is reported for every policy that has thresholds.
  bool have_tau = true;
  for (const auto& r : records) have_tau = have_tau && r.tau.has_value();
  std::vector<double> tau = have_tau ? field_values(records, &QueryRecord::tau) : std::vector<double>{};
  core::UtilityModel model;
  std::vector<core::SurgeUtility> utilities;
  if (have_tau) utilities = utilities_for(records, tau, o, &model);

  json summary;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::int64_t> caps;
  switch (*policy) {
    case core::Policy::kUniform: caps = core::allocate_uniform(records.size(), budget); break;
    case core::Policy::kPredictor:
    case core::Policy::kTaleEp: {
      const auto need = *policy == core::Policy::kPredictor
                            ? tau
                            : field_values(records, &QueryRecord::teacher_tau);
      core::ProportionalLimits limits;
      limits.min_tokens = o.min_tokens;
      if (o.max_tokens > 0.0) limits.max_tokens = o.max_tokens;
      caps = core::allocate_proportional(need, budget, limits);
      break;
    }
    case core::Policy::kClearHeuristic: caps = core::allocate_clear_heuristic(tau, budget); break;
    case core::Policy::kClearAuction: caps = core::allocate_clear_auction(tau, budget); break;
    case core::Policy::kOracle: {
      std::vector<std::uint8_t> correct(records.size());
      for (std::size_t i = 0; i < records.size(); ++i) correct[i] = *records[i].correct;
      caps = core::allocate_oracle(field_values(records, &QueryRecord::tokens_needed), correct,
                                   budget);
      break;
    }
    case core::Policy::kClear: {
      const auto solver =
          o.solver == "exact" ? core::PriceSolver::kExact : core::PriceSolver::kBisection;
      core::ClearPlan plan = core::allocate_clear(utilities, budget, solver);
      caps = std::move(plan.caps);
      summary["shadow_price"] = plan.price.lambda;
      summary["fill_price"] = plan.fill_price;
      summary["upper_bound"] = plan.upper_bound;
      summary["solver"] = o.solver;
      summary["solver_method"] = plan.price.method;
      summary["solver_status"] = core::to_string(plan.price.status);
      summary["solver_passes"] = plan.price.passes;
      break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string plan_text;
  std::int64_t funded = 0;
  double utility = 0.0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const bool abandoned = caps[i] == 0;
    funded += !abandoned;
    if (have_tau) utility += utilities[i].value(static_cast<double>(caps[i]));
    json row{{"id", records[i].id}, {"max_tokens", caps[i]}, {"abandoned", abandoned}};
    plan_text += row.dump();
    plan_text += '\n';
  }
  write_text_atomic(o.out, plan_text);

  summary["policy"] = core::to_string(*policy);
  summary["queries"] = records.size();
  summary["budget"] = budget;
  summary["allocated"] = core::total_tokens(caps);
  summary["funded"] = funded;
  summary["abandoned"] = n - funded;
  if (!summary.contains("shadow_price")) summary["shadow_price"] = nullptr;
  if (!summary.contains("upper_bound")) summary["upper_bound"] = nullptr;
  summary["utility"] = have_tau ? json(utility) : json(nullptr);
  if (have_tau) {
    summary["utility_model"] = {{"shape", core::to_string(model.shape)},
                                {"alpha", model.alpha},
                                {"beta", model.beta},
                                {"kappa", model.kappa}};
  }
  summary["solve_seconds"] = seconds;
  if (!o.predictor.empty()) summary["tau_predicted"] = predicted;
  const std::string text = summary.dump(2) + "\n";
  if (o.summary.empty()) {
    std::fputs(text.c_str(), stderr);
  } else {
    write_text_atomic(o.summary, text);
  }
}

}  // namespace

void add_allocate_command(CLI::App& app) {
  auto opts = std::make_shared<AllocateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "allocate", "Per-query max_tokens plan for a batch of queries under a total token budget");
  cmd->add_option("input", opts->input,
                  "JSONL queries: id, tau (predicted threshold, tokens); optional alpha, beta, "
                  "value, teacher_tau (tale-ep), tokens_needed + correct (oracle). '-' = stdin")
      ->capture_default_str();
  cmd->add_option("--budget", opts->budget, "Total budget, tokens");
  cmd->add_option("--per-query", opts->per_query, "Average budget per query, tokens (total = N x)");
  cmd->add_option("--policy", opts->policy, std::string(core::policy_names()))
      ->capture_default_str();
  cmd->add_option("--solver", opts->solver, "Shadow-price solver for clear: exact|bisection")
      ->capture_default_str();
  cmd->add_option("--utility", opts->utility,
                  "Shifted-surge parameters: paper (global alpha, beta) | scaled (beta_i = "
                  "kappa/tau_i, peak value 1)")
      ->capture_default_str();
  cmd->add_option("--alpha", opts->alpha, "paper utility: alpha (utility per token)")
      ->capture_default_str();
  cmd->add_option("--beta", opts->beta, "paper utility: beta per token; 0 = 1/median(tau)")
      ->capture_default_str();
  cmd->add_option("--kappa", opts->kappa, "scaled utility: peak at tau (1 + 1/kappa)")
      ->capture_default_str();
  cmd->add_option("--min-tokens", opts->min_tokens, "predictor/tale-ep: lower clip per query")
      ->capture_default_str();
  cmd->add_option("--max-tokens", opts->max_tokens,
                  "predictor/tale-ep: upper clip per query (0 = none)")
      ->capture_default_str();
  cmd->add_option("-o,--out", opts->out, "Plan JSONL (id, max_tokens, abandoned); '-' = stdout")
      ->capture_default_str();
  cmd->add_option("--summary", opts->summary, "Summary JSON file (default: stderr)");
  cmd->add_option("--predictor", opts->predictor,
                  "Threshold predictor (clearhouse train): estimates tau from 'prompt' (or "
                  "'question', and 'dataset' if given) for queries without a tau");
  cmd->callback([opts] { run_allocate(*opts); });
}

}  // namespace clearhouse::cli
