// `clearhouse allocate`: JSONL queries in, a per-query max_tokens plan out (see
// docs/allocation.md).
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "cli/query_records.h"
#include "core/clear_allocation.h"
#include "core/integerize.h"
#include "core/policy_registry.h"
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

const core::PolicySpec& parse_allocate_policy(const std::string& name) {
  const core::PolicySpec* spec = core::find_policy(name);
  const std::string expected = core::policy_names(core::PolicyScope::kAllocate);
  if (spec == nullptr) {
    throw UsageError("--policy: unknown policy '" + name + "' (expected " + expected + ")");
  }
  if (!core::available_in(*spec, core::PolicyScope::kAllocate)) {
    throw UsageError("--policy: " + name +
                     " runs in clearhouse bench only: it needs a success calibration of recorded "
                     "answers (allocate's policies: " +
                     expected + ")");
  }
  return *spec;
}

void validate_options(const AllocateOptions& o) {
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
}

// Fills tau from the prompt for queries without one; returns how many it filled.
std::size_t predict_missing_tau(std::vector<QueryRecord>& records, const std::string& model_path) {
  if (model_path.empty()) return 0;
  const predict::ThresholdPredictor predictor = [&] {
    try {
      return predict::ThresholdPredictor::load_file(model_path);
    } catch (const predict::ModelFileError& e) {
      throw UsageError(std::string("--predictor: ") + e.what());
    }
  }();
  std::size_t predicted = 0;
  for (auto& r : records) {
    if (r.tau || !r.prompt) continue;
    r.tau = predictor.predict(*r.prompt, r.dataset.value_or(""));
    ++predicted;
  }
  return predicted;
}

// The columns core::run_policy reads, owned here; a column is filled when every record has it.
struct BatchColumns {
  std::vector<double> tau, teacher_tau, tokens_needed;
  std::vector<std::uint8_t> correct;
  std::vector<core::SurgeUtility> utilities;  // from tau, when every record has one
  core::UtilityModel model;
};

template <typename T, typename F>
std::vector<T> column_if_complete(const std::vector<QueryRecord>& records, core::PolicyInput input,
                                  F value) {
  std::vector<T> v;
  for (const auto& r : records) {
    if (!has_input(r, input)) return {};
  }
  v.reserve(records.size());
  for (const auto& r : records) v.push_back(static_cast<T>(value(r)));
  return v;
}

BatchColumns batch_columns(const std::vector<QueryRecord>& records, const AllocateOptions& o) {
  using core::PolicyInput;
  BatchColumns c;
  c.tau = column_if_complete<double>(records, PolicyInput::kTau, [](auto& r) { return *r.tau; });
  c.teacher_tau = column_if_complete<double>(records, PolicyInput::kTeacherTau,
                                             [](auto& r) { return *r.teacher_tau; });
  c.tokens_needed = column_if_complete<double>(records, PolicyInput::kTokensNeeded,
                                               [](auto& r) { return *r.tokens_needed; });
  c.correct = column_if_complete<std::uint8_t>(records, PolicyInput::kCorrect,
                                               [](auto& r) { return *r.correct; });
  // The plan's model utility is reported for every policy that has thresholds.
  if (!c.tau.empty()) c.utilities = utilities_for(records, c.tau, o, &c.model);
  return c;
}

core::PolicyInputs policy_inputs(const BatchColumns& c, std::size_t queries,
                                 const AllocateOptions& o) {
  core::PolicyInputs in;
  in.queries = queries;
  in.tau = c.tau;
  in.teacher_tau = c.teacher_tau;
  in.tokens_needed = c.tokens_needed;
  in.correct = c.correct;
  in.utilities = c.utilities;
  in.limits.min_tokens = o.min_tokens;
  if (o.max_tokens > 0.0) in.limits.max_tokens = o.max_tokens;
  in.solver = o.solver == "exact" ? core::PriceSolver::kExact : core::PriceSolver::kBisection;
  return in;
}

json clear_details(const core::ClearPlan& plan, const std::string& solver) {
  return {
      {"shadow_price", plan.price.lambda},  {"fill_price", plan.fill_price},
      {"upper_bound", plan.upper_bound},    {"solver", solver},
      {"solver_method", plan.price.method}, {"solver_status", core::to_string(plan.price.status)},
      {"solver_passes", plan.price.passes}};
}

void run_allocate(const AllocateOptions& o) {
  const core::PolicySpec& policy = parse_allocate_policy(o.policy);
  validate_options(o);
  const std::string source = o.input == "-" ? std::string("<stdin>") : o.input;
  std::vector<QueryRecord> records = parse_query_records(read_text(o.input), source);
  const std::size_t predicted = predict_missing_tau(records, o.predictor);
  const auto n = static_cast<std::int64_t>(records.size());
  const std::int64_t budget = o.budget.empty()
                                  ? parse_positive_tokens(o.per_query, "--per-query") * n
                                  : parse_positive_tokens(o.budget, "--budget");
  require_inputs(records, source, policy);
  const BatchColumns columns = batch_columns(records, o);
  const bool have_tau = !columns.tau.empty();

  const auto start = std::chrono::steady_clock::now();
  const core::PolicyPlan plan =
      core::run_policy(policy.policy, policy_inputs(columns, records.size(), o), budget);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::vector<std::int64_t>& caps = plan.caps;

  std::string plan_text;
  std::int64_t funded = 0;
  double utility = 0.0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const bool abandoned = caps[i] == 0;
    funded += !abandoned;
    if (have_tau) utility += columns.utilities[i].value(static_cast<double>(caps[i]));
    json row{{"id", records[i].id}, {"max_tokens", caps[i]}, {"abandoned", abandoned}};
    plan_text += row.dump();
    plan_text += '\n';
  }
  write_text_atomic(o.out, plan_text);

  json summary = plan.clear ? clear_details(*plan.clear, o.solver) : json::object();
  summary["policy"] = policy.name;
  summary["queries"] = records.size();
  summary["budget"] = budget;
  summary["allocated"] = core::total_tokens(caps);
  summary["funded"] = funded;
  summary["abandoned"] = n - funded;
  if (!summary.contains("shadow_price")) summary["shadow_price"] = nullptr;
  if (!summary.contains("upper_bound")) summary["upper_bound"] = nullptr;
  summary["utility"] = have_tau ? json(utility) : json(nullptr);
  if (have_tau) {
    const core::UtilityModel& model = columns.model;
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
                  "value, and the fields a --policy needs (listed there). '-' = stdin")
      ->capture_default_str();
  cmd->add_option("--budget", opts->budget, "Total budget, tokens");
  cmd->add_option("--per-query", opts->per_query, "Average budget per query, tokens (total = N x)");
  cmd->add_option("--policy", opts->policy,
                  "Allocation policy, one of:\n" + core::policy_help(core::PolicyScope::kAllocate))
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
