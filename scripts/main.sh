#!/usr/bin/env bash
# The main job on data shipped in the repo: installs dependencies, builds, and runs the paper's replay
# evaluation (clearhouse bench) on the ZeroEval records in data/: every policy, four traffic streams,
# budgets of 64..512 tokens per query, 5 seeds. Prints the accuracy tables; writes report/results.md,
# results.csv, results.json and one Pareto plot per stream (report/pareto-*.svg).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/clearhouse bench --data data --out report "$@"
