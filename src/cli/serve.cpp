// `clearhouse serve --config FILE`: the gateway (gateway/gateway.h; user guide docs/gateway.md).
//
// Startup: load and validate the config (one-line errors naming file, line and field), open the
// ledger and reconcile what a crash left open, load the predictor, bind (never SO_REUSEPORT: a
// second gateway on the same port fails here), print "listening on HOST:PORT" on stdout.
// SIGINT/SIGTERM: new requests get 503, requests in flight get `limits.shutdown_grace_seconds` to
// finish, streams still running then stop and settle what they generated, and the process exits 0
// with the ledger settled. Logs go to stderr and never contain keys.
#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/errors.h"
#include "cli/server_lifecycle.h"
#include "gateway/gateway.h"
#include "http/server.h"
#include "http/upstream_client.h"
#include "ledger/ledger.h"

namespace clearhouse::cli {
namespace {

struct ServeOptions {
  std::string config;
  std::optional<int> port;
};

void run_serve(const ServeOptions& o) {
  gateway::GatewayConfig config;
  try {
    config = gateway::load_gateway_config(o.config);
  } catch (const config::ConfigError& e) {
    throw UsageError(e.what());
  }
  if (o.port) config.listen_port = *o.port;

  std::optional<predict::ThresholdPredictor> predictor;
  if (!config.predictor_path.empty()) {
    try {
      predictor = predict::ThresholdPredictor::load_file(config.predictor_path);
    } catch (const predict::ModelFileError& e) {
      throw UsageError(fmt::format("{}: predictor: {}", config.source, e.what()));
    }
  }

  // Before any thread starts (the ledger's checkpointer, the server's): they inherit the mask.
  const sigset_t signals = block_shutdown_signals();

  base::SystemClock clock;
  std::optional<ledger::Ledger> ledger;
  try {
    ledger.emplace(ledger::Ledger::open(config.ledger_path, clock));
  } catch (const ledger::LedgerError& e) {
    throw UsageError(e.what());
  }
  std::map<std::string, double> usd_per_token;
  for (const auto& u : config.upstreams) usd_per_token[u.name] = u.price_per_mtok / 1e6;
  const ledger::ReconcileReport reconciled =
      ledger->reconcile_after_restart(ledger::ReconcilePolicy::kCountAsFullyUsed, usd_per_token);
  if (!reconciled.requests.empty()) {
    std::fprintf(stderr,
                 "serve: %zu reservations were open after the last run; counted %lld tokens as "
                 "spent (the safe rule: they may have been generated)\n",
                 reconciled.requests.size(), static_cast<long long>(reconciled.counted_tokens));
  }

  std::unique_ptr<gateway::Gateway> gw;
  try {
    gw = std::make_unique<gateway::Gateway>(config, *ledger, clock, std::move(predictor));
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("{}: {}", config.source, e.what()));
  }

  http::HttpServerOptions server_options = gateway::front_door_options(config);
  server_options.admit_head = [&gw](http::HttpRequest& head) { return gw->admit_head(head); };
  http::HttpServer server(server_options, [&gw](const http::HttpRequest& request) {
    return gw->handle_async(request);
  });
  bind_and_announce(server, config.listen_host);
  std::string upstreams;
  for (const auto& u : config.upstreams) {
    upstreams += fmt::format("{}{} ({}, {} USD/Mtok)", upstreams.empty() ? "" : ", ", u.name,
                             u.model, u.price_per_mtok);
  }
  std::fprintf(stderr,
               "serve: budget %lld tokens per %s; policy %s; on_abandon %s; upstreams: %s\n",
               static_cast<long long>(config.budget_tokens),
               config.window_seconds == 0 ? std::string("all time").c_str()
                                          : fmt::format("{} s", config.window_seconds).c_str(),
               std::string(gateway::to_string(config.policy)).c_str(),
               std::string(gateway::to_string(config.on_abandon)).c_str(), upstreams.c_str());
  if (config.keys.empty()) {
    std::fprintf(stderr,
                 "serve: warning: no client keys configured: anyone who can reach the port "
                 "can spend the budget\n");
  }

  run_until_signal(server, signals, [&](int signal) {
    std::fprintf(stderr, "serve: signal %d: draining (%lld in flight)\n", signal,
                 static_cast<long long>(gw->in_flight()));
    gw->drain();
    const auto grace = std::chrono::milliseconds(
        static_cast<std::int64_t>(config.limits.shutdown_grace_seconds * 1000));
    if (!gw->wait_idle(grace)) {
      std::fprintf(stderr, "serve: grace period over: stopping %lld streams\n",
                   static_cast<long long>(gw->in_flight()));
      gw->abort_streams();
      (void)gw->wait_idle(std::chrono::seconds(10));
    }
  });
  const ledger::WindowTotals w = ledger->window_totals();
  std::fprintf(stderr, "serve: stopped; window spent %lld tokens, %lld still reserved\n",
               static_cast<long long>(w.spent_tokens), static_cast<long long>(w.reserved_tokens));
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Run the gateway: an OpenAI-compatible proxy that paces a token budget with the CLEAR shadow "
      "price and never overspends; see docs/gateway.md");
  cmd->add_option("--config", options->config, "YAML config (docs/gateway-config.md)")->required();
  cmd->add_option("--port", options->port, "override the config's listen port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->callback([options] { run_serve(*options); });
}

}  // namespace clearhouse::cli
