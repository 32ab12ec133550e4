// `clearhouse loadgen --url URL`: load-tests an OpenAI-compatible server (the gateway, or an
// upstream directly) and reports latency percentiles, the achieved rate and the outcomes
// (tools/load_generator.h). scripts/bench-gateway.sh drives it.
//
// Open loop with --rate R (requests due every 1/R s, whatever the server does), closed loop without
// (each of --connections workers sends back to back). The body is --body, --body-file, or a small
// chat request built from --model / --max-tokens / --stream. The API key comes from the environment
// variable named by --api-key-env, never from the command line. --json prints the report as one
// JSON object on stdout; otherwise a short table.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "tools/load_generator.h"

namespace clearhouse::cli {
namespace {

struct LoadgenCliOptions {
  tools::LoadOptions load;
  std::string body_file;
  std::string api_key_env;
  std::string model = "Qwen2-7B-Instruct";
  std::int64_t max_tokens = 16;
  std::string label;
  bool json = false;
};

std::string default_body(const LoadgenCliOptions& o) {
  nlohmann::json body = {
      {"model", o.model},
      {"messages", {{{"role", "user"}, {"content", "clearhouse load test: say something short"}}}},
      {"max_tokens", o.max_tokens}};
  if (o.load.stream) body["stream"] = true;
  return body.dump();
}

void print_summary(const tools::LoadReport& r, const tools::LoadOptions& o) {
  std::string outcomes;
  for (const auto& [k, v] : r.outcomes)
    outcomes += fmt::format("{}{}={}", outcomes.empty() ? "" : " ", k, v);
  std::printf(
      "%s",
      fmt::format("{} {} loop, {} connections: {} sent, {} ok in {:.2f} s ({:.0f}/s, ok "
                  "{:.0f}/s); outcomes: {}; peak in flight {}\n",
                  o.stream ? "streaming" : "non-streaming",
                  o.rate > 0 ? fmt::format("open ({:g}/s)", o.rate) : "closed", o.connections,
                  r.sent, r.ok, r.seconds, r.achieved_rate, r.ok_rate, outcomes, r.peak_in_flight)
          .c_str());
  const auto row = [](const char* name, const tools::LatencySummary& s) {
    std::printf("%s",
                fmt::format("  {:<11} p50 {:8.3f}  p90 {:8.3f}  p99 {:8.3f}  p99.9 {:8.3f}  max "
                            "{:8.3f}  mean {:8.3f} ms\n",
                            name, s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms, s.mean_ms)
                    .c_str());
  };
  row("latency", r.latency);
  row("first byte", r.first_byte);
  if (o.rate > 0) row("send lag", r.send_lag);
}

void run_loadgen(LoadgenCliOptions o) {
  if (!o.body_file.empty()) {
    std::ifstream in(o.body_file, std::ios::binary);
    if (!in) throw UsageError("--body-file: cannot read " + o.body_file);
    std::ostringstream text;
    text << in.rdbuf();
    o.load.body = text.str();
  }
  if (o.load.body.empty()) o.load.body = default_body(o);
  if (!nlohmann::json::accept(o.load.body)) throw UsageError("the request body is not valid JSON");
  if (!o.api_key_env.empty()) {
    const char* key = std::getenv(o.api_key_env.c_str());
    if (key == nullptr || *key == '\0') {
      throw UsageError("--api-key-env: environment variable " + o.api_key_env + " is not set");
    }
    o.load.api_key = key;
  }
  tools::LoadReport report;
  try {
    report = tools::run_load(o.load);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (o.json) {
    nlohmann::json out = to_json(report);
    out["label"] = o.label;
    out["options"] = {{"url", o.load.base_url},
                      {"path", o.load.path},
                      {"stream", o.load.stream},
                      {"rate", o.load.rate},
                      {"connections", o.load.connections},
                      {"duration_seconds", o.load.duration_seconds},
                      {"requests", o.load.requests},
                      {"warmup_seconds", o.load.warmup_seconds}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    if (!o.label.empty()) std::printf("%s\n", o.label.c_str());
    print_summary(report, o.load);
  }
}

}  // namespace

void add_loadgen_command(CLI::App& app) {
  auto o = std::make_shared<LoadgenCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "loadgen",
      "Load-test an OpenAI-compatible server (the gateway or an upstream): latency percentiles, "
      "achieved rate, outcomes; see docs/performance.md");
  cmd->add_option("--url", o->load.base_url, "server base URL, http://host:port")->required();
  cmd->add_option("--path", o->load.path, "request path")->capture_default_str();
  cmd->add_option("--rate", o->load.rate, "requests per second (open loop); 0 = closed loop")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--connections", o->load.connections,
                  "keep-alive connections (closed loop: concurrency; open loop: most outstanding)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{20000}));
  cmd->add_option("--duration", o->load.duration_seconds, "seconds measured")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--requests", o->load.requests,
                  "measured requests (instead of --duration); with --connections equal to it, "
                  "all are sent at once")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--warmup", o->load.warmup_seconds, "unmeasured seconds first, at the same load")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--timeout", o->load.timeout_seconds, "per-request timeout in seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--stream", o->load.stream, "streaming requests (success needs data: [DONE])");
  cmd->add_option("--body", o->load.body, "request JSON (default: a short chat request)");
  cmd->add_option("--body-file", o->body_file, "read the request JSON from this file")
      ->excludes("--body");
  cmd->add_option("--model", o->model, "model of the default body")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "max_tokens of the default body")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  cmd->add_option("--api-key-env", o->api_key_env,
                  "environment variable holding the Bearer key to send");
  cmd->add_option("--label", o->label, "name of this run in the output");
  cmd->add_flag("--json", o->json, "print the report as one JSON object");
  cmd->callback([o] { run_loadgen(*o); });
}

}  // namespace clearhouse::cli
