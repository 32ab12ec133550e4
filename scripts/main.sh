#!/usr/bin/env bash
# The main job on data shipped in the repo: installs dependencies, builds, and allocates a token
# budget (256 tokens per query on average) over examples/queries.jsonl with CLEAR, writing the plan
# to report/plan.jsonl and the summary to report/summary.json (also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p report
./build/clearhouse allocate examples/queries.jsonl --per-query 256 --policy clear \
  --out report/plan.jsonl --summary report/summary.json
cat report/summary.json
echo "plan: report/plan.jsonl ($(wc -l < report/plan.jsonl) queries)"
