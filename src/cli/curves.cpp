// `clearhouse curves`: providers' compute curves from real records, written as the curves CSV that
// `clearhouse market` reads (see docs/market.md).
//
//  * --models: token-capped reasoning from ZeroEval's runs.csv (theta = output-token cap).
//  * --samples: majority vote@N and best-of-N@N from qwen25-math-samples' samples.jsonl (theta =
//  N).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "market/curve_builder.h"
#include "market/curves_csv.h"
#include "market/provider.h"

namespace clearhouse::cli {
namespace {

struct CurvesOptions {
  std::string data = "data/zeroeval";
  std::string models;
  std::string thetas = "64,128,256,512,1024,4096";
  std::string dataset = "all";
  std::string prices;
  std::string samples;
  std::string ns = "1,2,4,8";
  std::string out = "-";
};

// Default list prices, USD per million output tokens (from the Test-Time Compute Games paper's
// experiments; docs/market.md).
struct DefaultPrice {
  const char* model;
  double usd_per_mtok;
};
constexpr DefaultPrice kDefaultPrices[] = {
    {"Llama-3-8B", 0.1455}, {"Llama-3.1-8B", 0.1245}, {"Llama-3.2-1B", 0.10},
    {"Llama-3.2-3B", 0.08}, {"Qwen2-0.5B", 0.10},     {"Qwen2-1.5B", 0.10},
    {"Qwen2-7B", 0.20},     {"Qwen2.5-3B", 0.065},    {"Qwen2.5-7B", 0.1465},
};
constexpr const char* kMajorityName = "qwen25-math-majority";
constexpr const char* kBestOfName = "qwen25-math-best-of-n";
constexpr double kSamplesDefaultPrice = 0.1465;  // Qwen2.5-7B's list price

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "Meta-Llama-3-8B-Instruct" -> "llama-3-8b"; "Qwen2-7B-Instruct@x" -> "qwen2-7b".
std::string short_name(std::string name) {
  if (const auto at = name.find('@'); at != std::string::npos) name.resize(at);
  name = lower(name);
  if (name.rfind("meta-", 0) == 0) name.erase(0, 5);
  for (const char* suffix : {"-instruct", "-chat", "-it"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      name.resize(name.size() - s.size());
    }
  }
  return name;
}

double to_number(const std::string& text, const std::string& what) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
    throw UsageError(what + ": '" + text + "' is not a finite number");
  }
  return v;
}

std::vector<double> parse_levels(const std::string& text, const std::string& what) {
  std::vector<double> out;
  for (const std::string& item : split_list(text)) {
    const double v = to_number(item, what);
    if (!(v > 0.0)) throw UsageError(what + ": " + item + " must be > 0");
    if (!out.empty() && !(v > out.back())) {
      throw UsageError(what + ": values must be strictly increasing (" + item + " after " +
                       fmt::format("{:g}", out.back()) + ")");
    }
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(what + ": empty list");
  return out;
}

std::map<std::string, double> parse_prices(const std::string& text) {
  std::map<std::string, double> out;
  for (const std::string& item : split_list(text)) {
    const auto eq = item.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError("--prices: expected MODEL=USD_PER_MTOK, got '" + item + "'");
    }
    const double v = to_number(item.substr(eq + 1), "--prices " + item.substr(0, eq));
    if (v < 0.0) throw UsageError("--prices: negative price for '" + item.substr(0, eq) + "'");
    out[item.substr(0, eq)] = v;
  }
  return out;
}

double price_for(const std::string& model, const std::map<std::string, double>& overrides,
                 double fallback = -1.0) {
  if (auto it = overrides.find(model); it != overrides.end()) return it->second;
  for (const auto& [key, v] : overrides) {
    if (short_name(key) == short_name(model)) return v;
  }
  for (const DefaultPrice& d : kDefaultPrices) {
    if (short_name(d.model) == short_name(model)) return d.usd_per_mtok;
  }
  if (fallback >= 0.0) return fallback;
  throw UsageError("no default price for model '" + model + "'; give --prices '" + model +
                   "=USD_PER_MTOK'");
}

struct Run {
  std::string question;  // dataset/qid
  market::CappedRun run;
};

// runs.csv rows of the wanted models (and dataset), per model.
std::map<std::string, std::vector<Run>> load_runs(const std::string& path,
                                                  const std::set<std::string>& models,
                                                  const std::string& dataset) {
  const std::string text = read_text(path);
  std::map<std::string, std::vector<Run>> out;
  std::vector<std::string> fields;
  std::map<std::string, std::size_t> col;
  const char* needed[] = {"model", "dataset", "qid", "output_tokens", "correct"};
  std::size_t line_no = 0;
  std::size_t header_size = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    if (line.empty()) continue;
    if (!market::split_csv_line(line, fields)) {
      throw UsageError(path + " line " + std::to_string(line_no) + ": unterminated double quote");
    }
    if (col.empty()) {
      for (std::size_t i = 0; i < fields.size(); ++i) col[fields[i]] = i;
      for (const char* c : needed) {
        if (!col.count(c)) {
          throw UsageError(path + " line 1: missing column '" + std::string(c) + "'");
        }
      }
      header_size = fields.size();
      continue;
    }
    if (fields.size() != header_size) {
      throw UsageError(path + " line " + std::to_string(line_no) + ": expected " +
                       std::to_string(header_size) + " fields, got " +
                       std::to_string(fields.size()));
    }
    const std::string& model = fields[col["model"]];
    if (!models.count(model)) continue;
    const std::string& ds = fields[col["dataset"]];
    if (dataset != "all" && ds != dataset) continue;
    const std::string where = path + " line " + std::to_string(line_no);
    double tokens = 0.0;
    try {
      tokens = to_number(fields[col["output_tokens"]], "output_tokens");
    } catch (const UsageError& e) {
      throw UsageError(where + ": " + e.what());
    }
    if (tokens < 0.0) throw UsageError(where + ": negative output_tokens");
    const std::string& c = fields[col["correct"]];
    if (c != "0" && c != "1" && c != "true" && c != "false" && c != "True" && c != "False") {
      throw UsageError(where + ": correct must be 0 or 1, got '" + c + "'");
    }
    const bool correct = c == "1" || c == "true" || c == "True";
    out[model].push_back(Run{ds + "/" + fields[col["qid"]], {tokens, correct}});
  }
  return out;
}

std::vector<market::Provider> capped_providers(const CurvesOptions& o,
                                               const std::map<std::string, double>& prices) {
  const std::vector<std::string> models = split_list(o.models);
  const std::vector<double> thetas = parse_levels(o.thetas, "--thetas");
  if (o.dataset != "all" && o.dataset != "gsm" && o.dataset != "math-l5") {
    throw UsageError("--dataset: expected gsm, math-l5 or all, got '" + o.dataset + "'");
  }
  const std::set<std::string> wanted(models.begin(), models.end());
  const std::string path = o.data + "/runs.csv";
  auto runs = load_runs(path, wanted, o.dataset);
  // The questions every model ran, so that all providers face the same queries.
  std::set<std::string> common;
  bool first = true;
  for (const std::string& m : models) {
    auto it = runs.find(m);
    if (it == runs.end() || it->second.empty()) {
      throw UsageError("--models: no rows for '" + m + "' in " + path +
                       (o.dataset == "all" ? std::string() : " (dataset " + o.dataset + ")"));
    }
    std::set<std::string> mine;
    for (const Run& r : it->second) mine.insert(r.question);
    if (first) {
      common = std::move(mine);
      first = false;
    } else {
      std::set<std::string> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                            std::inserter(both, both.end()));
      common = std::move(both);
    }
  }
  if (common.empty()) throw UsageError("--models: the models share no question");
  std::vector<market::Provider> out;
  for (const std::string& m : models) {
    std::vector<market::CappedRun> selected;
    std::set<std::string> done;
    for (const Run& r : runs[m]) {
      if (common.count(r.question) && done.insert(r.question).second) selected.push_back(r.run);
    }
    out.push_back(
        market::Provider{m, price_for(m, prices), market::token_capped_curve(selected, thetas)});
  }
  std::fprintf(stderr, "curves: %zu models on %zu common questions\n", models.size(),
               common.size());
  return out;
}

std::vector<market::Provider> sample_providers(const CurvesOptions& o,
                                               const std::map<std::string, double>& prices) {
  const std::vector<double> ns = parse_levels(o.ns, "--ns");
  const std::string text = read_text(o.samples);
  std::map<std::string, std::size_t> index;
  std::vector<market::SampledQuery> queries;
  std::size_t line_no = 0;
  for (std::string_view line : split_lines(text)) {
    ++line_no;
    if (line.empty()) continue;
    const std::string where = o.samples + " line " + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(where + ": not JSON (" + std::string(e.what()) + ")");
    }
    market::Sample s;
    std::string qid;
    try {
      qid = j.at("qid").dump();
      s.output_tokens = j.at("output_tokens").get<double>();
      s.prediction = j.at("prediction").is_null() ? "" : j.at("prediction").get<std::string>();
      s.correct = j.at("correct").get<bool>();
      s.reward = j.at("reward_score").get<double>();
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(where + ": missing or mistyped field (" + std::string(e.what()) + ")");
    }
    if (!(s.output_tokens >= 0.0)) throw UsageError(where + ": negative output_tokens");
    auto [it, inserted] = index.try_emplace(qid, queries.size());
    if (inserted) queries.emplace_back();
    queries[it->second].push_back(std::move(s));
  }
  if (queries.empty()) throw UsageError(o.samples + ": no samples");
  std::size_t fewest = market::kMaxSamplesPerQuery;
  for (const auto& q : queries) fewest = std::min(fewest, q.size());
  for (double n : ns) {
    if (n != std::floor(n) || n > static_cast<double>(fewest)) {
      throw UsageError(
          fmt::format("--ns: {:g} is not a whole number of samples in [1, {}]", n, fewest));
    }
  }
  std::fprintf(stderr, "curves: %zu sampled questions, at least %zu samples each\n", queries.size(),
               fewest);
  return {
      market::Provider{kMajorityName, price_for(kMajorityName, prices, kSamplesDefaultPrice),
                       market::majority_vote_curve(queries, ns)},
      market::Provider{kBestOfName, price_for(kBestOfName, prices, kSamplesDefaultPrice),
                       market::best_of_n_curve(queries, ns)},
  };
}

void run_curves(const CurvesOptions& o) {
  if (o.models.empty() && o.samples.empty()) {
    throw UsageError("give --models (token-capped curves) and/or --samples (voting curves)");
  }
  const std::map<std::string, double> prices = parse_prices(o.prices);
  std::vector<market::Provider> providers;
  if (!o.models.empty()) providers = capped_providers(o, prices);
  if (!o.samples.empty()) {
    auto voting = sample_providers(o, prices);
    if (!providers.empty() && voting.front().levels.size() != providers.front().levels.size()) {
      throw UsageError(fmt::format(
          "--thetas gives {} levels and --ns {}; every provider needs the same number of levels",
          providers.front().levels.size(), voting.front().levels.size()));
    }
    for (auto& p : voting) providers.push_back(std::move(p));
  }
  if (std::string why = market::validate(providers, 1); !why.empty()) throw UsageError(why);
  write_text_atomic(o.out, market::format_curves_csv(providers));
}

}  // namespace

void add_curves_command(CLI::App& app) {
  auto options = std::make_shared<CurvesOptions>();
  CLI::App* cmd = app.add_subcommand(
      "curves", "Build providers' compute curves (CSV for `clearhouse market`) from real records");
  cmd->add_option("--data", options->data, "ZeroEval folder holding runs.csv")
      ->capture_default_str();
  cmd->add_option("--models", options->models,
                  "Comma-separated models of runs.csv: token-capped reasoning curves");
  cmd->add_option("--thetas", options->thetas, "Output-token caps, strictly increasing")
      ->capture_default_str();
  cmd->add_option("--dataset", options->dataset, "gsm, math-l5 or all")->capture_default_str();
  cmd->add_option("--prices", options->prices,
                  "MODEL=USD_PER_MTOK,... (defaults: the list prices in docs/market.md)");
  cmd->add_option("--samples", options->samples,
                  "qwen25-math-samples samples.jsonl: majority-vote@N and best-of-N@N curves");
  cmd->add_option("--ns", options->ns, "Sample counts N for --samples, strictly increasing")
      ->capture_default_str();
  cmd->add_option("--out", options->out, "Output CSV file ('-' for stdout)")->capture_default_str();
  cmd->callback([options] { run_curves(*options); });
}

}  // namespace clearhouse::cli
