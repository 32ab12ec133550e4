// `clearhouse fit`: fits the paper's shifted-surge utility and alternative shapes to empirical
// accuracy-versus-token-cap curves (per difficulty tier from ZeroEval, per question from the
// Qwen2.5-Math samples) and reports RMSE and AIC side by side (see docs/fit.md).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "data/data_error.h"
#include "data/dataset.h"
#include "data/math_samples.h"
#include "eval/curve_fit.h"
#include "eval/curve_fit_data.h"
#include "eval/curve_fit_report.h"

namespace clearhouse::cli {
namespace {

using nlohmann::json;

struct FitOptions {
  std::string data = "data";
  std::string models = "Qwen2-7B-Instruct";
  std::string samples;  // empty: <data>/qwen25-math-samples/samples.jsonl; "none": skip
  std::string grid = "log:16:4096:49";
  std::size_t question_points = 32;
  std::size_t plot_questions = 4;
  std::string out = "report/fit";
  bool json_output = false;
  bool quiet = false;
};

// "log:LO:HI:N" (N caps equally spaced in ln t), "lin:LO:HI:N" (equally spaced in t) or a
// comma-separated list of increasing caps.
std::vector<double> parse_grid(const std::string& spec) {
  const bool linear = spec.rfind("lin:", 0) == 0;
  if (spec.rfind("log:", 0) == 0 || linear) {
    const auto parts = split_list(spec.substr(4), ':');
    if (parts.size() != 3)
      throw UsageError("--grid: expected log:LO:HI:N or lin:LO:HI:N, got '" + spec + "'");
    const auto lo = parse_positive_tokens(parts[0], "--grid LO");
    const auto hi = parse_positive_tokens(parts[1], "--grid HI");
    const auto n = parse_positive_tokens(parts[2], "--grid N");
    if (hi <= lo || n < 3 || n > 100000) {
      throw UsageError("--grid: need LO < HI and 3 <= N <= 100000 in '" + spec + "'");
    }
    if (linear) {
      std::vector<double> grid;
      for (std::int64_t i = 0; i < n; ++i) {
        grid.push_back(static_cast<double>(lo) + static_cast<double>(hi - lo) *
                                                     static_cast<double>(i) /
                                                     static_cast<double>(n - 1));
      }
      return grid;
    }
    return eval::geometric_grid(static_cast<double>(lo), static_cast<double>(hi),
                                static_cast<std::size_t>(n));
  }
  std::vector<double> grid;
  for (const auto& item : split_list(spec)) {
    grid.push_back(static_cast<double>(parse_positive_tokens(item, "--grid")));
    if (grid.size() > 1 && grid.back() <= grid[grid.size() - 2]) {
      throw UsageError("--grid: caps must increase ('" + item + "')");
    }
  }
  if (grid.size() < 3)
    throw UsageError("--grid: need at least 3 caps (the families have 3 parameters)");
  return grid;
}

std::string file_stem(const std::string& text) {
  std::string s;
  for (const char ch : text) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_';
    s += ok ? ch : '-';
  }
  return s;
}

void run_fit(const FitOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&](const std::string& line) {
    if (o.quiet) return;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "fit: %s (%.2f s)\n", line.c_str(), s);
  };
  const std::vector<double> grid = parse_grid(o.grid);
  const std::vector<std::string> models = split_list(o.models);
  if (models.empty()) throw UsageError("--model-name: give at least one model");
  if (o.question_points < 3) throw UsageError("--question-points: need at least 3");
  const std::string samples_path =
      o.samples.empty() ? o.data + "/qwen25-math-samples/samples.jsonl" : o.samples;

  data::Dataset dataset = [&] {
    try {
      return data::load_zeroeval(o.data);
    } catch (const data::DataError& e) {
      throw UsageError(std::string("--data: ") + e.what());
    }
  }();
  std::vector<std::uint32_t> model_ids;
  for (const auto& m : models) {
    try {
      model_ids.push_back(dataset.model_index(m));
    } catch (const data::DataError& e) {
      throw UsageError(std::string("--model-name: ") + e.what());
    }
  }
  std::optional<data::MathSamples> samples;
  if (samples_path != "none") {
    if (!std::filesystem::exists(samples_path)) {
      throw UsageError("--samples: no such file: " + samples_path +
                       " (give --samples none to skip)");
    }
    try {
      samples = data::load_math_samples(samples_path);
    } catch (const data::DataError& e) {
      throw UsageError(std::string("--samples: ") + e.what());
    }
  }
  progress(fmt::format("loaded {} questions and {} models{}", dataset.questions().size(),
                       dataset.models().size(),
                       samples ? fmt::format(", {} samples", samples->samples().size()) : ""));

  std::vector<eval::CurveFits> curves;
  for (const std::uint32_t m : model_ids) {
    for (auto& c : eval::zeroeval_curves(dataset, m, grid))
      curves.push_back(eval::fit_named(std::move(c)));
    progress("fitted " + dataset.models()[m] + "'s tier curves");
  }
  std::vector<eval::CurveFits> questions;
  if (samples) {
    curves.push_back(eval::fit_named(eval::pooled_sample_curve(*samples, grid)));
    for (auto& c : eval::question_curves(*samples, o.question_points)) {
      if (eval::is_flat(c.curve)) {
        eval::CurveFits flat;
        flat.curve = std::move(c);
        questions.push_back(std::move(flat));
      } else {
        questions.push_back(eval::fit_named(std::move(c)));
      }
    }
    progress(fmt::format("fitted {} per-question curves", questions.size()));
  }
  const eval::QuestionSummary summary = eval::summarize_questions(questions);
  std::vector<eval::CurveFits> ranked_questions;
  for (const auto& q : questions) {
    if (!q.fits.empty()) ranked_questions.push_back(q);
  }

  std::string md = fmt::format(
      "# clearhouse fit\n\nAccuracy-versus-token-cap curves (share correct within t output tokens; "
      "a "
      "truncated answer counts as wrong) fitted by least squares; every family has 3 parameters, "
      "so "
      "AIC ranks as RMSE does. ZeroEval grid: {} caps from {:.0f} to {:.0f} tokens ({}).\n\n",
      grid.size(), grid.front(), grid.back(), o.grid);
  md += "## Summary\n\n" + eval::fit_summary_markdown(curves);
  if (samples) {
    md += fmt::format(
              "\n## Per question ({}; {} caps per question, from half the shortest to twice "
              "the longest sample)\n\n",
              samples_path, o.question_points) +
          eval::question_summary_markdown(summary);
  }
  md += "\n## Fitted parameters\n\n" + eval::fit_detail_markdown(curves);

  json doc{{"models", models}, {"grid", grid}, {"curves", json::array()}};
  for (const auto& c : curves) doc["curves"].push_back(eval::fit_json(c));
  if (samples) {
    json per_question = json::array();
    for (const auto& q : ranked_questions) per_question.push_back(eval::fit_json(q));
    doc["samples"] = {{"file", samples_path},
                      {"question_points", o.question_points},
                      {"summary", eval::question_summary_json(summary)},
                      {"questions", per_question}};
  }

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) throw UsageError("--out: cannot create " + o.out + ": " + ec.message());
  write_text_atomic(o.out + "/fit.md", md);
  write_text_atomic(o.out + "/fit.csv", eval::fit_csv(curves));
  write_text_atomic(o.out + "/points.csv", eval::points_csv(curves));
  write_text_atomic(o.out + "/fit.json", doc.dump(2) + "\n");
  std::size_t plots = 0;
  for (const auto& c : curves) {
    const bool zeroeval = c.curve.source.rfind("zeroeval:", 0) == 0;
    const std::string who = zeroeval ? c.curve.source.substr(9) : "samples";
    write_text_atomic(
        o.out + "/fit-" + file_stem(who + "-" + c.curve.name) + ".svg",
        eval::fit_svg(c, fmt::format("{}: {} ({} items)", who, c.curve.name, c.curve.items)));
    ++plots;
  }
  if (samples) {
    write_text_atomic(o.out + "/questions.csv", eval::fit_csv(ranked_questions));
    // Plot the questions whose curve stops strictly between 0 and 1 first: they show most shape.
    std::vector<const eval::CurveFits*> order;
    for (const auto& q : ranked_questions) {
      if (q.curve.correct < q.curve.items) order.push_back(&q);
    }
    for (const auto& q : ranked_questions) {
      if (q.curve.correct == q.curve.items) order.push_back(&q);
    }
    for (std::size_t i = 0; i < order.size() && i < o.plot_questions; ++i) {
      const auto& q = *order[i];
      write_text_atomic(
          o.out + "/fit-samples-" + file_stem(q.curve.name) + ".svg",
          eval::fit_svg(q, fmt::format("Qwen2.5-Math sample curve, question {} ({}/{} "
                                       "correct)",
                                       q.curve.name.substr(2), q.curve.correct, q.curve.items)));
      ++plots;
    }
  }
  progress(fmt::format("wrote {}/fit.{{md,csv,json}}, points.csv{} and {} plots", o.out,
                       samples ? ", questions.csv" : "", plots));
  if (o.json_output) {
    std::puts(doc.dump(2).c_str());
  } else {
    std::fputs(md.c_str(), stdout);
  }
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto opts = std::make_shared<FitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "fit", "Fit the shifted-surge utility and alternatives to accuracy-versus-tokens curves");
  cmd->add_option("--data", opts->data, "ZeroEval data directory (questions.jsonl, runs.csv)")
      ->capture_default_str();
  cmd->add_option("--model-name", opts->models, "Backbone model(s), comma-separated")
      ->capture_default_str();
  cmd->add_option("--samples", opts->samples,
                  "Qwen2.5-Math samples JSONL (default: DATA/qwen25-math-samples/samples.jsonl; "
                  "'none' to skip)");
  cmd->add_option("--grid", opts->grid,
                  "Token caps: log:LO:HI:N, lin:LO:HI:N or a comma-separated list")
      ->capture_default_str();
  cmd->add_option("--question-points", opts->question_points, "Caps per per-question curve")
      ->capture_default_str();
  cmd->add_option("--plot-questions", opts->plot_questions, "Per-question curves to plot")
      ->capture_default_str();
  cmd->add_option("--out", opts->out, "Report directory")->capture_default_str();
  cmd->add_flag("--json", opts->json_output, "Print the results as JSON on stdout");
  cmd->add_flag("--quiet", opts->quiet, "No progress on stderr");
  cmd->callback([opts] { run_fit(*opts); });
}

}  // namespace clearhouse::cli
