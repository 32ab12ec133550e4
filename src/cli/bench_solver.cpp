// `clearhouse bench-solver`: one synthetic instance, solved by the exact solver and by the paper's
// reference bisection in the same run; prints both times, their ratio, both prices and utilities.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "core/clear_allocation.h"
#include "core/utility_model.h"

namespace clearhouse::cli {
namespace {

using nlohmann::json;

struct BenchSolverOptions {
  std::int64_t queries = 100000;
  std::uint64_t seed = 1;
  double median_tau = 300.0;  // tokens
  double sigma = 0.6;         // log-normal spread of tau
  double per_query = 200.0;   // average budget per query, tokens
  std::string utility = "paper";
  int repeat = 3;
  bool json_output = false;
};

struct Timed {
  core::ClearPlan plan;
  double seconds = 0.0;  // best of the repeats
};

Timed time_solver(const std::vector<core::SurgeUtility>& queries, std::int64_t budget,
                  core::PriceSolver solver, int repeat) {
  Timed best;
  best.seconds = INFINITY;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    core::ClearPlan plan = core::allocate_clear(queries, budget, solver);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (s < best.seconds) {
      best.seconds = s;
      best.plan = std::move(plan);
    }
  }
  return best;
}

json solver_json(const Timed& t) {
  return {{"seconds", t.seconds},
          {"shadow_price", t.plan.price.lambda},
          {"fill_price", t.plan.fill_price},
          {"utility", t.plan.utility},
          {"upper_bound", t.plan.upper_bound},
          {"relative_gap", t.plan.relative_gap()},
          {"allocated", t.plan.allocated},
          {"funded", t.plan.funded},
          {"passes", t.plan.price.passes},
          {"status", core::to_string(t.plan.price.status)},
          {"method", t.plan.price.method}};
}

void run_bench_solver(const BenchSolverOptions& o) {
  if (o.queries <= 0) throw UsageError("--queries: must be positive");
  if (o.repeat <= 0) throw UsageError("--repeat: must be positive");
  if (!(o.median_tau > 0.0) || !(o.sigma >= 0.0) || !(o.per_query > 0.0)) {
    throw UsageError("--median-tau and --per-query must be > 0, --sigma >= 0");
  }
  const auto shape = core::parse_utility_shape(o.utility);
  if (!shape) throw UsageError("--utility: expected paper or scaled, got '" + o.utility + "'");

  std::mt19937_64 rng(o.seed);
  std::lognormal_distribution<double> draw(std::log(o.median_tau), o.sigma);
  std::vector<double> tau(static_cast<std::size_t>(o.queries));
  for (double& t : tau) t = std::max(1.0, std::round(draw(rng)));
  core::UtilityModel model;
  model.shape = *shape;
  const auto queries = core::build_utilities(tau, model);
  const auto budget = static_cast<std::int64_t>(o.per_query * static_cast<double>(o.queries));

  const Timed exact = time_solver(queries, budget, core::PriceSolver::kExact, o.repeat);
  const Timed bisection = time_solver(queries, budget, core::PriceSolver::kBisection, o.repeat);
  const double ratio = bisection.seconds / exact.seconds;
  const double lambda_diff = std::abs(exact.plan.price.lambda - bisection.plan.price.lambda) /
                             std::max(exact.plan.price.lambda, 1e-300);
  const double input_mib =
      static_cast<double>(queries.size() * sizeof(core::SurgeUtility)) / (1024.0 * 1024.0);

  if (o.json_output) {
    json out{{"queries", o.queries},
             {"seed", o.seed},
             {"utility", o.utility},
             {"budget", budget},
             {"repeat", o.repeat},
             {"exact", solver_json(exact)},
             {"bisection", solver_json(bisection)},
             {"speedup", ratio},
             {"shadow_price_relative_difference", lambda_diff},
             {"input_mib", input_mib},
             {"peak_rss_mib", peak_rss_mib()}};
    std::puts(out.dump(2).c_str());
    return;
  }
  fmt::print(
      "instance: {} queries, tau log-normal (median {}, sigma {}), budget {} tokens "
      "({} per query), utility {}, seed {}\n",
      o.queries, o.median_tau, o.sigma, budget, o.per_query, o.utility, o.seed);
  fmt::print("{:<10} {:>12} {:>16} {:>16} {:>8} {:>8}\n", "solver", "seconds", "shadow price",
             "utility", "funded", "passes");
  for (const auto& [name, t] : {std::pair{"exact", &exact}, std::pair{"bisection", &bisection}}) {
    fmt::print("{:<10} {:>12.6f} {:>16.9e} {:>16.6f} {:>8} {:>8}\n", name, t->seconds,
               t->plan.price.lambda, t->plan.utility, t->plan.funded, t->plan.price.passes);
  }
  fmt::print("speedup (bisection / exact): {:.1f}x; shadow prices differ by {:.2e} (relative)\n",
             ratio, lambda_diff);
  fmt::print("input {:.1f} MiB, peak RSS {:.1f} MiB\n", input_mib, peak_rss_mib());
}

}  // namespace

void add_bench_solver_command(CLI::App& app) {
  auto opts = std::make_shared<BenchSolverOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench-solver", "Time the exact shadow-price solver against the paper's bisection");
  cmd->add_option("--queries", opts->queries, "Number of synthetic queries")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->add_option("--median-tau", opts->median_tau, "Median threshold, tokens")
      ->capture_default_str();
  cmd->add_option("--sigma", opts->sigma, "Log-normal sigma of thresholds")->capture_default_str();
  cmd->add_option("--per-query", opts->per_query, "Average budget per query, tokens")
      ->capture_default_str();
  cmd->add_option("--utility", opts->utility, "paper|scaled")->capture_default_str();
  cmd->add_option("--repeat", opts->repeat, "Timed runs per solver (best is reported)")
      ->capture_default_str();
  cmd->add_flag("--json", opts->json_output, "Print JSON");
  cmd->callback([opts] { run_bench_solver(*opts); });
}

}  // namespace clearhouse::cli
