// `clearhouse predict`: reads JSONL queries (a `prompt` or `question` string, optional `dataset`)
// and writes each line back, keys in their order, with `tau` (predicted output tokens) added, and
// with
// `--sigma` also `tau_log_sigma` (std of log tokens). See docs/predictor.md.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "predict/threshold_predictor.h"

namespace clearhouse::cli {
namespace {

using ordered_json = nlohmann::ordered_json;

struct PredictOptions {
  std::string model;
  std::string input = "-";
  std::string out = "-";
  bool sigma = false;
};

// The text to predict from: `prompt`, else `question`, else the last user message of `messages`.
std::string query_text(const ordered_json& q, const std::string& where) {
  for (const char* key : {"prompt", "question"}) {
    const auto it = q.find(key);
    if (it == q.end()) continue;
    if (!it->is_string()) throw UsageError(where + ": field '" + key + "': not a string");
    return it->get<std::string>();
  }
  if (const auto it = q.find("messages"); it != q.end() && it->is_array()) {
    for (auto m = it->rbegin(); m != it->rend(); ++m) {
      if (m->is_object() && m->value("role", "") == "user" && m->contains("content") &&
          (*m)["content"].is_string()) {
        return (*m)["content"].get<std::string>();
      }
    }
  }
  throw UsageError(where + ": field 'prompt': missing (need a 'prompt' or 'question' string)");
}

void run_predict(const PredictOptions& o) {
  std::optional<predict::ThresholdPredictor> predictor;
  try {
    predictor.emplace(predict::ThresholdPredictor::load_file(o.model));
  } catch (const predict::ModelFileError& e) {
    throw UsageError(e.what());
  }
  const std::string text = read_text(o.input);
  const std::string source = (o.input.empty() || o.input == "-") ? "<stdin>" : o.input;
  std::string output;
  output.reserve(text.size() + text.size() / 8);
  std::size_t line_number = 0;
  for (const std::string_view line : split_lines(text)) {
    ++line_number;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = source + ":" + std::to_string(line_number);
    ordered_json q;
    try {
      q = ordered_json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      throw UsageError(where + ": invalid JSON");
    }
    if (!q.is_object()) throw UsageError(where + ": not a JSON object");
    const std::string prompt = query_text(q, where);
    std::string dataset;
    if (const auto it = q.find("dataset"); it != q.end()) {
      if (!it->is_string()) throw UsageError(where + ": field 'dataset': not a string");
      dataset = it->get<std::string>();
    }
    q["tau"] = predictor->predict(prompt, dataset);
    if (o.sigma) q["tau_log_sigma"] = predictor->log_sigma(prompt, dataset);
    output += q.dump();
    output += '\n';
  }
  write_text_atomic(o.out, output);
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Add a predicted token threshold `tau` to each JSONL query (prompt or question)");
  cmd->add_option("--model", o->model, "Model file written by `clearhouse train`")->required();
  cmd->add_option("--input,-i", o->input, "JSONL queries (default: standard input)");
  cmd->add_option("--out,-o", o->out, "Where to write (default: standard output)");
  cmd->add_flag("--sigma", o->sigma, "Also add tau_log_sigma, the std of log tokens");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace clearhouse::cli
