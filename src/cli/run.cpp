// `clearhouse run`: executes a batch (OpenAI Batch API lines or clearhouse query lines) against an
// OpenAI-compatible upstream under a token budget, resumably (src/run/; user guide docs/run.md).
//
// Bad input (a malformed line, a duplicate id, an unknown url, a missing model, a bad budget, a
// state file from another input) exits 2 before anything is sent. The summary JSON goes to stdout
// (or
// --summary FILE), progress lines to stderr unless --quiet.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/calibration_file.h"
#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/io.h"
#include "http/upstream_client.h"
#include "predict/threshold_predictor.h"
#include "run/batch_input.h"
#include "run/executor.h"
#include "run/output_file.h"
#include "run/run_plan.h"
#include "run/run_state.h"

namespace clearhouse::cli {
namespace {

struct RunCliOptions {
  std::string input;
  std::string out;
  std::string upstream;
  std::string model;
  std::string budget;
  std::string per_query;
  std::string policy = "progressive";
  std::string predictor;
  std::string api_key_env;
  std::size_t concurrency = 8;
  double rate = 0;
  std::string state;
  std::int64_t max_tokens = 4096;
  double timeout = 120;
  int retries = 4;
  double backoff = 0.5;
  std::string continuation = "auto";
  std::uint64_t seed = 1;
  double progress_seconds = 5;
  bool quiet = false;
  std::string summary = "-";
};

std::int64_t total_budget(const RunCliOptions& o, std::size_t queries) {
  if (o.budget.empty() == o.per_query.empty()) {
    throw UsageError("give exactly one of --budget TOKENS and --per-query TOKENS");
  }
  if (!o.budget.empty()) return parse_positive_tokens(o.budget, "--budget");
  return parse_positive_tokens(o.per_query, "--per-query") * static_cast<std::int64_t>(queries);
}

std::optional<predict::ThresholdPredictor> load_predictor(const std::string& path) {
  if (path.empty()) return std::nullopt;
  try {
    return predict::ThresholdPredictor::load_file(path);
  } catch (const std::exception& e) {
    throw UsageError("--predictor: " + std::string(e.what()));
  }
}

std::string api_key(const std::string& variable) {
  if (variable.empty()) return {};
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    throw UsageError("--api-key-env: the environment variable " + variable + " is not set");
  }
  return value;
}

nlohmann::json summary_json(const run::RunSummary& s) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.tokens_this_run) / s.seconds : 0.0;
  return {{"budget", s.budget},
          {"spent", s.spent},
          {"queries", s.queries},
          {"answered", s.answered},
          {"finished", s.finished},
          {"truncated", s.truncated},
          {"abandoned", s.abandoned},
          {"errors", s.errors},
          {"requests", s.requests},
          {"requests_this_run", s.requests_this_run},
          {"tokens_this_run", s.tokens_this_run},
          {"wall_seconds", s.seconds},
          {"tokens_per_second", rate}};
}

struct Prepared {
  std::string text;
  std::vector<run::BatchQuery> queries;
  std::optional<predict::ThresholdPredictor> predictor;
  std::optional<eval::SuccessCalibration> calibration;  // progressive, beside the predictor
  run::Schedule schedule;
};

// Everything checked before a file is opened or a request sent: exit 2 on any bad input.
Prepared prepare(const RunCliOptions& o) {
  Prepared p;
  p.text = read_text(o.input);
  try {
    p.queries = run::parse_batch(p.text, o.input, o.model);
    if (o.max_tokens < 1) throw UsageError("--max-tokens: must be >= 1");
    p.schedule.budget = total_budget(o, p.queries.size());
    const core::Policy policy = run::run_policy_named(o.policy);
    p.predictor = load_predictor(o.predictor);
    const predict::ThresholdPredictor* predictor = p.predictor ? &*p.predictor : nullptr;
    p.schedule.caps = run::query_caps(p.queries, o.max_tokens);
    p.schedule.progressive = policy == core::Policy::kProgressive;
    p.schedule.continuation = p.schedule.progressive && o.continuation != "none";
    if (p.schedule.progressive) {
      if (predictor != nullptr) p.calibration = load_calibration_beside(o.predictor);
      p.schedule.priors =
          run::length_priors(p.queries, predictor, p.calibration ? &*p.calibration : nullptr);
    } else {
      p.schedule.plan = run::one_shot_plan(policy, p.queries, p.schedule.caps, predictor,
                                           p.schedule.budget, o.input);
    }
  } catch (const run::RunInputError& e) {
    throw UsageError(e.what());
  }
  // Only the priors and the plan read the prompts (the bodies carry them upstream).
  for (run::BatchQuery& q : p.queries) std::string().swap(q.prompt);
  return p;
}

void print_notices(const RunCliOptions& o, const Prepared& p, const run::RunState& state,
                   const run::OutputFile& out, const std::string& state_path) {
  if (o.quiet) return;
  if (p.schedule.progressive && !p.schedule.continuation) {
    std::fprintf(stderr,
                 "run: --continuation none: progressive degrades to one-shot caps "
                 "(one slice per query, chosen by its index)\n");
  }
  if (p.schedule.progressive && !p.predictor) {
    std::fprintf(stderr,
                 "run: no --predictor: lines without tau use the fallback prior "
                 "(median 200 tokens, sigma 1.0)\n");
  }
  if (p.schedule.progressive && p.predictor && !p.calibration) {
    std::fprintf(stderr,
                 "run: no success calibration beside the predictor (%s): p_correct = 1 "
                 "(lengths only)\n",
                 calibration_path_for(o.predictor).c_str());
  }
  if (state.resumed()) {
    std::fprintf(stderr,
                 "run: resuming %s: %lld of %lld tokens already charged, %zu lines "
                 "already written%s\n",
                 state_path.c_str(), static_cast<long long>(state.charged()),
                 static_cast<long long>(p.schedule.budget), out.existing_ids().size(),
                 out.truncated_bytes() > 0 ? " (a torn last line was removed)" : "");
  }
}

std::unique_ptr<http::UpstreamClient> upstream_client(const RunCliOptions& o) {
  http::UpstreamEndpoint endpoint;
  endpoint.name = "upstream";
  endpoint.base_url = o.upstream;
  endpoint.api_key = api_key(o.api_key_env);
  endpoint.read_timeout_seconds = o.timeout;
  endpoint.total_timeout_seconds = o.timeout;
  try {
    return std::make_unique<http::UpstreamClient>(endpoint);
  } catch (const http::UpstreamUrlError& e) {
    throw UsageError("--upstream: " + std::string(e.what()));
  }
}

run::ExecutorOptions executor_options(const RunCliOptions& o, std::int64_t budget) {
  run::ExecutorOptions options;
  options.budget = budget;
  options.concurrency = o.concurrency;
  options.rate = o.rate;
  options.max_retries = o.retries;
  options.backoff_seconds = o.backoff;
  options.seed = o.seed;
  options.progress_seconds = o.progress_seconds;
  if (!o.quiet) {
    // A live line on a terminal, plain lines otherwise (logs, pipes).
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    if (tty) options.progress_seconds = std::min(o.progress_seconds, 0.5);
    options.on_progress = [tty](const run::Progress& g) {
      const double rate = g.seconds > 0 ? static_cast<double>(g.requests) / g.seconds : 0.0;
      const double per_query = g.done > 0 ? g.seconds / static_cast<double>(g.done) : 0.0;
      const double eta = per_query * static_cast<double>(g.total - g.done);
      std::fprintf(stderr,
                   "%srun: %zu/%zu done, %lld/%lld tokens, %lld requests (%.0f/s), %.1f s, "
                   "ETA %.0f s%s",
                   tty ? "\r\033[K" : "", g.done, g.total, static_cast<long long>(g.spent),
                   static_cast<long long>(g.budget), static_cast<long long>(g.requests), rate,
                   g.seconds, eta, tty ? "" : "\n");
    };
  }
  return options;
}

void run_batch(const RunCliOptions& o) {
  Prepared p = prepare(o);
  const std::unique_ptr<http::UpstreamClient> client = upstream_client(o);
  const std::string options_text = fmt::format(
      "model={};budget={};policy={};continuation={};max_tokens={};predictor={};calibration={}",
      o.model, p.schedule.budget, o.policy, p.schedule.continuation ? "on" : "off", o.max_tokens,
      o.predictor, p.calibration ? "on" : "off");
  const std::string fingerprint = run::fingerprint(p.text, options_text);
  std::string().swap(p.text);  // a long batch's text is not needed any more
  const std::string state_path = o.state.empty() ? o.out + ".state" : o.state;
  std::unique_ptr<run::RunState> state;
  std::unique_ptr<run::OutputFile> out;
  try {
    state = std::make_unique<run::RunState>(state_path, fingerprint, p.schedule.budget,
                                            p.queries.size());
    out = std::make_unique<run::OutputFile>(o.out);
  } catch (const run::RunStateError& e) {
    throw UsageError(e.what());
  } catch (const run::OutputFileError& e) {
    throw UsageError(e.what());
  }
  print_notices(o, p, *state, *out, state_path);
  const std::int64_t budget = p.schedule.budget;
  const std::unique_ptr<run::SliceSource> source =
      run::resumed_source(p.queries, *state, *out, std::move(p.schedule));
  const run::Transport transport = [&client](std::string_view path, std::string body) {
    return client->post_collect(path, std::move(body));
  };
  run::RunSummary summary;
  try {
    summary = run::execute(p.queries, *source, *state, *out, transport, run::steady_run_clock(),
                           executor_options(o, budget));
  } catch (const run::UpstreamUnreachable& e) {
    throw UsageError(e.what());
  }
  if (!o.quiet && ::isatty(STDERR_FILENO) == 1) std::fprintf(stderr, "\n");
  write_text_atomic(o.summary, summary_json(summary).dump(2) + "\n");
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Execute a batch against an OpenAI-compatible upstream under a token budget, "
      "resumably; see docs/run.md");
  cmd->add_option("--input", o->input, "JSONL batch: Batch API lines or clearhouse query lines")
      ->required();
  cmd->add_option("--out", o->out, "output JSONL (Batch API output lines; appended, resumable)")
      ->required();
  cmd->add_option("--upstream", o->upstream, "base URL of the upstream, e.g. http://127.0.0.1:8000")
      ->required();
  cmd->add_option("--model", o->model, "model for lines whose body names none");
  cmd->add_option("--budget", o->budget, "total completion tokens for the whole batch");
  cmd->add_option("--per-query", o->per_query, "budget per query (times the number of queries)");
  cmd->add_option("--policy", o->policy,
                  "progressive (default) or a one-shot policy: " + run::run_policy_names())
      ->capture_default_str();
  cmd->add_option("--predictor", o->predictor,
                  "predictor model file (clearhouse train) for priors");
  cmd->add_option("--api-key-env", o->api_key_env, "environment variable holding the API key");
  cmd->add_option("--concurrency", o->concurrency, "requests in flight at once")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
  cmd->add_option("--rate", o->rate, "most requests per second; 0 = unlimited")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--state", o->state, "resumable state (SQLite); default <out>.state");
  cmd->add_option("--max-tokens", o->max_tokens,
                  "cap of a query without its own max_tokens (and the most any query gets)")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "per-request timeout, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--retries", o->retries, "retries after a 429, 5xx, timeout or broken connection")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  cmd->add_option("--backoff", o->backoff,
                  "first retry's backoff, seconds (doubling per retry, jittered, at most 30 s)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--continuation", o->continuation,
                  "auto (continue cut answers on the wire form of each line's endpoint) or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "none"}));
  cmd->add_option("--seed", o->seed, "seed of the retry jitter")->capture_default_str();
  cmd->add_option("--progress-seconds", o->progress_seconds, "seconds between progress lines")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet", o->quiet, "no progress on stderr");
  cmd->add_option("--summary", o->summary, "where the summary JSON goes ('-' = stdout)")
      ->capture_default_str();
  cmd->callback([o] { run_batch(*o); });
}

}  // namespace clearhouse::cli
