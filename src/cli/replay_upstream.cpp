// `clearhouse replay-upstream`: serves recorded real model outputs as an OpenAI-compatible upstream
// (tools/replay_upstream.h; user guide docs/replay-upstream.md).
//
// The first line on stdout is "listening on HOST:PORT" (the chosen port when --port 0), flushed at
// once, so scripts and tests can wait for it. SIGINT and SIGTERM stop the server gracefully: pacing
// and delays end, streams in flight finish at full speed, then the process exits 0.

#include "tools/replay_upstream.h"

#include <csignal>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/server_lifecycle.h"
#include "data/data_error.h"
#include "http/server.h"

namespace clearhouse::cli {
namespace {

struct ReplayUpstreamCliOptions {
  std::string data = "data";
  std::string host = "127.0.0.1";
  int port = 0;
  double tokens_per_second = 0;
  std::size_t threads = 1024;
  std::string model;
  std::string unknown = "lorem";
  std::int64_t lorem_tokens = 128;
  std::string fault;
  std::size_t max_body_bytes = 8u << 20u;
  std::string usage_shape = "openai";
  double reasoning_share = 0;
  bool reasoning_item = false;
};

void run_replay_upstream(const ReplayUpstreamCliOptions& o) {
  tools::ReplayUpstreamOptions options;
  options.tokens_per_second = o.tokens_per_second;
  options.unknown_prompt =
      o.unknown == "error" ? tools::UnknownPrompt::kError : tools::UnknownPrompt::kLorem;
  options.lorem_tokens = o.lorem_tokens;
  options.default_model = o.model;
  options.reasoning_share = o.reasoning_share;
  options.reasoning_item = o.reasoning_item;
  try {
    options.usage_shape = tools::parse_usage_shape(o.usage_shape);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--usage-shape: ") + e.what());
  }
  try {
    options.fault = tools::parse_fault_spec(o.fault);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--fault: ") + e.what());
  }

  std::shared_ptr<const tools::ReplayStore> store;
  try {
    store = std::make_shared<const tools::ReplayStore>(tools::ReplayStore::load(o.data));
  } catch (const data::DataError& e) {
    throw UsageError(e.what());
  }
  std::unique_ptr<tools::ReplayUpstream> upstream;
  try {
    upstream = std::make_unique<tools::ReplayUpstream>(store, options);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  const sigset_t signals = block_shutdown_signals();

  http::HttpServerOptions server_options;
  server_options.host = o.host;
  server_options.port = o.port;
  server_options.max_blocking_threads = o.threads;
  server_options.max_body_bytes = o.max_body_bytes;
  http::HttpServer server(server_options, [&upstream](const http::HttpRequest& request) {
    return upstream->handle(request);
  });
  bind_and_announce(server, o.host);
  std::size_t records = store->records().size();
  std::string models;
  for (const auto& m : store->models()) models += (models.empty() ? "" : ", ") + m;
  std::fprintf(stderr,
               "replay-upstream: %zu recorded outputs of %s; default model %s; %g tokens/s; usage "
               "shape %s; reasoning share %g%s%s%s\n",
               records, models.c_str(), upstream->default_model().c_str(), o.tokens_per_second,
               o.usage_shape.c_str(), o.reasoning_share,
               o.reasoning_item ? " (reasoning items)" : "",
               options.fault.empty() ? "" : "; fault ", tools::to_string(options.fault).c_str());

  run_until_signal(server, signals, [&](int signal) {
    std::fprintf(stderr, "replay-upstream: signal %d, stopping\n", signal);
    upstream->shutdown();
  });
  std::fprintf(stderr, "replay-upstream: stopped\n");
}

}  // namespace

void add_replay_upstream_command(CLI::App& app) {
  auto options = std::make_shared<ReplayUpstreamCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay-upstream",
      "Serve recorded real model outputs as an OpenAI-compatible upstream (for tests and demos of "
      "the gateway); see docs/replay-upstream.md");
  cmd->add_option(
         "--data", options->data,
         "ZeroEval data directory with outputs/<model>.<dataset>.jsonl, questions.jsonl and "
         "runs.csv (data/ or data/zeroeval/)")
      ->capture_default_str();
  cmd->add_option("--port", options->port, "TCP port; 0 picks a free one (printed on stdout)")
      ->required()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--host", options->host, "address to listen on")->capture_default_str();
  cmd->add_option("--tokens-per-second", options->tokens_per_second,
                  "stream pacing per request; 0 = as fast as possible")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", options->threads,
                  "most connections served at once (one thread each, started on demand)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  cmd->add_option("--model", options->model,
                  "model that answers requests naming an unknown model (default: the first)");
  cmd->add_option("--unknown", options->unknown,
                  "answer to a prompt with no recording: lorem (lorem ipsum text) or error (404)")
      ->capture_default_str()
      ->check(CLI::IsMember({"lorem", "error"}));
  cmd->add_option("--lorem-tokens", options->lorem_tokens, "length of the lorem answer in tokens")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'000'000}));
  cmd->add_option(
      "--fault", options->fault,
      "fault for requests that name none, e.g. status=500 or delay-ms=2000,close-after=3");
  cmd->add_option(
         "--usage-shape", options->usage_shape,
         "how streams report usage: openai (a last chunk with no choices, when the request "
         "asks stream_options.include_usage), llamacpp (on the finish chunk), "
         "vllm-continuous (every chunk, counts so far) or none (no usage, streamed or not)")
      ->capture_default_str();
  cmd->add_option("--reasoning-share", options->reasoning_share,
                  "share of each answer's tokens reported as reasoning tokens (0..1; 0 = none)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--reasoning-item", options->reasoning_item,
                "/v1/responses answers start with a reasoning output item");
  cmd->add_option("--max-body-bytes", options->max_body_bytes,
                  "larger request bodies are refused with 413")
      ->capture_default_str();
  cmd->callback([options] { run_replay_upstream(*options); });
}

}  // namespace clearhouse::cli
