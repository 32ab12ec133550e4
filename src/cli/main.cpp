// Entry point of the `clearhouse` binary: builds the CLI11 app from the subcommands and turns every
// expected failure into a one-line error and exit status 2.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "cli/errors.h"

int main(int argc, char** argv) {
  CLI::App app{
      "clearhouse: spends LLM test-time compute like an economist (CLEAR shadow-price allocation, "
      "test-time compute market and auction)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "clearhouse 0.1.0");
  clearhouse::cli::add_allocate_command(app);
  clearhouse::cli::add_bench_solver_command(app);
  clearhouse::cli::add_bench_command(app);
  clearhouse::cli::add_bench_pacer_command(app);
  clearhouse::cli::add_train_command(app);
  clearhouse::cli::add_predict_command(app);
  clearhouse::cli::add_market_command(app);
  clearhouse::cli::add_curves_command(app);
  clearhouse::cli::add_fit_command(app);
  clearhouse::cli::add_ledger_command(app);
  clearhouse::cli::add_replay_upstream_command(app);
  clearhouse::cli::add_run_command(app);
  clearhouse::cli::add_serve_command(app);
  clearhouse::cli::add_hash_key_command(app);
  clearhouse::cli::add_loadgen_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? clearhouse::cli::kExitOk : clearhouse::cli::kExitUsage;
  } catch (const clearhouse::cli::UsageError& e) {
    std::fprintf(stderr, "clearhouse: error: %s\n", e.what());
    return clearhouse::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clearhouse: internal error: %s\n", e.what());
    return clearhouse::cli::kExitInternal;
  }
  return clearhouse::cli::kExitOk;
}
