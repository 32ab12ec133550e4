// `clearhouse market`: equilibrium, welfare optimum, price of anarchy and the reverse second-price
// auction on providers' compute curves (see docs/market.md).
#include "market/market.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "cli/market_report.h"
#include "market/auction.h"
#include "market/curves_csv.h"
#include "market/sweep.h"

namespace clearhouse::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct MarketOptions {
  std::string curves;
  std::string value_curve = "linear";
  double scale = 10.0;
  double baseline = 0.1;
  double margin = 0.25;
  double gamma = 3.5;
  double kappa = 6.0;
  double outside_value = 0.0;
  std::string beta_list;
  std::string sweep;
  std::uint64_t seed = 0;
  std::string optimum = "dinkelbach";
  unsigned threads = 1;
  std::string out;
  bool json = false;
  std::string command_line;
};

double parse_double(std::string_view text, const std::string& what) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    throw UsageError(what + ": '" + std::string(text) + "' is not a finite number");
  }
  return v;
}

std::vector<double> parse_betas(const MarketOptions& o) {
  if (!o.beta_list.empty() && !o.sweep.empty()) {
    throw UsageError("--beta and --sweep are exclusive: give a list or a log-spaced range");
  }
  std::vector<double> betas;
  if (!o.beta_list.empty()) {
    std::string_view rest = o.beta_list;
    while (true) {
      const std::size_t comma = rest.find(',');
      const double b = parse_double(rest.substr(0, comma), "--beta");
      if (b < 0.0) throw UsageError("--beta: " + fmt::format("{}", b) + " is negative; beta >= 0");
      betas.push_back(b);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return betas;
  }
  const std::string spec = o.sweep.empty() ? "1:1000000:7" : o.sweep;
  const std::size_t a = spec.find(':');
  const std::size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
  if (b == std::string::npos) throw UsageError("--sweep: expected LO:HI:N, got '" + spec + "'");
  const double lo = parse_double(std::string_view(spec).substr(0, a), "--sweep LO");
  const double hi = parse_double(std::string_view(spec).substr(a + 1, b - a - 1), "--sweep HI");
  const double n = parse_double(std::string_view(spec).substr(b + 1), "--sweep N");
  if (!(lo > 0.0) || !(hi >= lo))
    throw UsageError("--sweep: need 0 < LO <= HI, got '" + spec + "'");
  if (n < 1.0 || n != std::floor(n) || n > 1e6) {
    throw UsageError("--sweep: N must be a whole number in [1, 1000000], got '" + spec + "'");
  }
  return market::log_spaced(lo, hi, static_cast<std::size_t>(n));
}

market::MarketParams parse_params(const MarketOptions& o) {
  market::MarketParams p;
  const auto curve = market::parse_value_curve(o.value_curve);
  if (!curve) {
    throw UsageError("--value-curve: expected linear, power or exp, got '" + o.value_curve + "'");
  }
  p.quality.curve = *curve;
  p.quality.scale = o.scale;
  p.quality.baseline = o.baseline;
  p.quality.gamma = o.gamma;
  p.quality.kappa = o.kappa;
  p.margin = o.margin;
  p.outside_value = o.outside_value;
  if (std::string why = p.validate(); !why.empty()) throw UsageError(why);
  if (!(o.margin > 0.0)) {
    throw UsageError("--margin must be > 0 (providers earn p - c = p m / (1 + m) per query)");
  }
  return p;
}

market::OptimumMethod parse_method(const std::string& name) {
  if (name == "dinkelbach") return market::OptimumMethod::kDinkelbach;
  if (name == "branch-and-bound") return market::OptimumMethod::kBranchAndBound;
  if (name == "enumerate") return market::OptimumMethod::kEnumeration;
  throw UsageError("--optimum: expected dinkelbach, branch-and-bound or enumerate, got '" + name +
                   "'");
}

ojson profile_json(const market::Market& m, const market::Profile& p) {
  ojson j = ojson::object();
  for (std::size_t k = 0; k < m.size(); ++k) j[m.name(k)] = p[k];
  return j;
}

ojson to_json(const market::Market& m, const std::vector<market::BetaResult>& results,
              const market::AuctionOutcome& a) {
  ojson out;
  out["providers"] = ojson::array();
  for (std::size_t k = 0; k < m.size(); ++k) out["providers"].push_back(m.name(k));
  out["results"] = ojson::array();
  for (const market::BetaResult& r : results) {
    ojson row;
    row["beta"] = r.beta;
    row["equilibrium"] = {{"theta_index", profile_json(m, r.equilibrium.profile)},
                          {"social_welfare", r.equilibrium.social_welfare},
                          {"iterations", r.equilibrium.rounds}};
    row["optimum"] = {{"theta_index", profile_json(m, r.optimum.profile)},
                      {"social_welfare", r.optimum.social_welfare}};
    row["price_of_anarchy"] =
        std::isnan(r.price_of_anarchy) ? ojson(nullptr) : ojson(r.price_of_anarchy);
    out["results"].push_back(std::move(row));
  }
  if (a.status == market::AuctionStatus::kSold) {
    out["auction"] = {{"winner", m.name(a.winner)},
                      {"runner_up", m.name(a.runner_up)},
                      {"price", a.price},
                      {"user_value", a.user_value},
                      {"winner_profit", a.winner_profit},
                      {"social_welfare", a.social_welfare}};
  } else {
    out["auction"] = {{"winner", nullptr},        {"runner_up", nullptr},
                      {"price", nullptr},         {"user_value", a.user_value},
                      {"winner_profit", nullptr}, {"social_welfare", 0.0}};
  }
  return out;
}

void print_text(const market::Market& m, const std::vector<market::BetaResult>& results,
                const market::AuctionOutcome& a, double seconds) {
  std::string out = fmt::format("{} providers:", m.size());
  for (std::size_t k = 0; k < m.size(); ++k) out += " " + m.name(k);
  out += fmt::format("\n{:>12} {:>12} {:>12} {:>10} {:>10} {:>10} {:>6}  {}\n", "beta", "SW eq",
                     "SW opt", "PoA", "tokens eq", "tokens opt", "rounds", "theta eq | theta opt");
  for (const market::BetaResult& r : results) {
    std::string thetas;
    for (std::size_t k = 0; k < m.size(); ++k) {
      thetas += fmt::format("{}{:g}", k ? "," : "", m.at(k, r.equilibrium.profile[k]).theta);
    }
    thetas += " | ";
    for (std::size_t k = 0; k < m.size(); ++k) {
      thetas += fmt::format("{}{:g}", k ? "," : "", m.at(k, r.optimum.profile[k]).theta);
    }
    out += fmt::format(
        "{:>12.4g} {:>12.6f} {:>12.6f} {:>10} {:>10.1f} {:>10.1f} {:>6}  {}{}\n", r.beta,
        r.equilibrium.social_welfare, r.optimum.social_welfare,
        std::isnan(r.price_of_anarchy) ? std::string("n/a")
                                       : fmt::format("{:.6f}", r.price_of_anarchy),
        r.at_equilibrium.mean_tokens, r.at_optimum.mean_tokens, r.equilibrium.rounds, thetas,
        r.equilibrium.status == market::EquilibriumStatus::kConverged ? "" : "  (not converged)");
  }
  if (a.status == market::AuctionStatus::kSold) {
    out += fmt::format(
        "auction: winner {} (theta {:g}, score {:.6f}), runner-up {} (score {:.6f}); price {:.6f}, "
        "user value {:.6f}, winner profit {:.6f}, welfare {:.6f}, {:.1f} tokens\n",
        m.name(a.winner), m.at(a.winner, a.winner_level).theta, a.winner_score, m.name(a.runner_up),
        a.runner_up_score, a.price, a.user_value, a.winner_profit, a.social_welfare, a.tokens);
  } else {
    out += fmt::format("auction: {}\n", market::to_string(a.status));
  }
  out += fmt::format("{} beta values in {:.3f} s\n", results.size(), seconds);
  std::fputs(out.c_str(), stdout);
}

void run_market(const MarketOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const market::MarketParams params = parse_params(o);
  const std::vector<double> betas = parse_betas(o);
  const market::OptimumMethod method = parse_method(o.optimum);
  if (o.threads == 0) throw UsageError("--threads must be >= 1");

  const std::string text = read_text(o.curves);
  const market::CurvesParse parsed = market::parse_curves_csv(text, o.curves);
  if (!parsed.ok()) throw UsageError(parsed.error);
  const market::Market m(parsed.providers, params);

  market::SweepOptions sweep_options;
  sweep_options.seed = o.seed;
  sweep_options.optimum = method;
  sweep_options.threads = o.threads;
  MarketRun run;
  run.market = &m;
  run.results = market::sweep(m, betas, sweep_options);
  run.bids = market::truthful_bids(m);
  run.auction = market::run_auction(m, run.bids);
  run.command_line = o.command_line;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const market::BetaResult& r : run.results) {
    if (r.equilibrium.status != market::EquilibriumStatus::kConverged) {
      std::fprintf(stderr,
                   "clearhouse: warning: best-response dynamics did not converge at beta %g\n",
                   r.beta);
    }
  }
  if (!o.out.empty()) write_market_report(o.out, run);
  if (o.json) {
    std::fputs((to_json(m, run.results, run.auction).dump(2) + "\n").c_str(), stdout);
  } else {
    print_text(m, run.results, run.auction, seconds);
  }
}

}  // namespace

void add_market_command(CLI::App& app) {
  auto options = std::make_shared<MarketOptions>();
  CLI::App* cmd = app.add_subcommand(
      "market",
      "Pay-per-token market equilibrium, welfare optimum, price of anarchy and the reverse "
      "second-price auction on providers' compute curves");
  cmd->add_option(
         "--curves", options->curves,
         "Curves CSV: provider,price_per_mtok,theta,accuracy,tokens (see `clearhouse curves`)")
      ->required();
  cmd->add_option("--value-curve", options->value_curve, "Quality curve f: linear, power or exp")
      ->capture_default_str();
  cmd->add_option("--scale", options->scale, "A: quality of a perfect answer, USD")
      ->capture_default_str();
  cmd->add_option("--baseline", options->baseline, "b: share of A a wrong answer keeps")
      ->capture_default_str();
  cmd->add_option("--margin", options->margin, "m: cost = price / (1 + m)")->capture_default_str();
  cmd->add_option("--gamma", options->gamma, "Exponent of the power curve")->capture_default_str();
  cmd->add_option("--kappa", options->kappa, "Steepness of the exp curve")->capture_default_str();
  cmd->add_option("--outside-value", options->outside_value,
                  "v0: value of the outside option (buying nothing), USD")
      ->capture_default_str();
  cmd->add_option("--beta", options->beta_list, "Comma-separated user rationalities (per USD)");
  cmd->add_option("--sweep", options->sweep,
                  "LO:HI:N, N betas log-spaced from LO to HI (default 1:1000000:7)");
  cmd->add_option("--seed", options->seed, "Seed of the best-response starting profiles")
      ->capture_default_str();
  cmd->add_option("--optimum", options->optimum,
                  "Welfare optimum: dinkelbach (exact, fast), branch-and-bound or enumerate "
                  "(every profile)")
      ->capture_default_str();
  cmd->add_option("--threads", options->threads, "Worker threads")->capture_default_str();
  cmd->add_option("--out", options->out, "Directory for tables (CSV, Markdown) and SVG plots");
  cmd->add_flag("--json", options->json, "Print the results as JSON");
  cmd->callback([options, cmd] {
    std::string line = "clearhouse market";
    for (const CLI::Option* opt : cmd->get_options()) {
      if (opt->count() == 0 || opt->get_name() == "--help") continue;
      if (opt->get_expected_min() == 0) {
        line += " " + opt->get_name();
      } else {
        for (const std::string& v : opt->results()) line += " " + opt->get_name() + " " + v;
      }
    }
    options->command_line = line;
    run_market(*options);
  });
}

}  // namespace clearhouse::cli
