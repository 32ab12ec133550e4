// The subcommands of the `clearhouse` binary. Each lives in its own file under src/cli/ and
// registers itself on the top-level CLI11 app; main.cpp only calls these functions.
//
// Contract for every subcommand: expected failures (bad input, missing file, infeasible request)
// throw clearhouse::cli::UsageError with a one-line message naming the file, line and field; main()
// prints it as "clearhouse: error: ..." and exits with status 2. Nothing else reaches the user as
// an exception.
#pragma once

#include <CLI/CLI.hpp>

namespace clearhouse::cli {

void add_allocate_command(CLI::App& app);
void add_bench_solver_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_pacer_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_market_command(CLI::App& app);
void add_curves_command(CLI::App& app);
void add_fit_command(CLI::App& app);
void add_ledger_command(CLI::App& app);
void add_replay_upstream_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_hash_key_command(CLI::App& app);
void add_loadgen_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace clearhouse::cli
