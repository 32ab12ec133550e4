#!/usr/bin/env bash
# Runs the official OpenAI SDK for Node against the real gateway (tests/sdk): installs the SDK from
# the npm registry, then every check of tests/sdk/package.json's `npm test`. Needs build/clearhouse.
# Skipped only when node or npm is absent, and then it says so.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== the official OpenAI SDK for Node against the gateway (tests/sdk) =="
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIPPED: node and npm are not installed, so the SDK checks did not run"
  exit 0
fi
cd tests/sdk
npm install --no-audit --no-fund --silent
CLEARHOUSE_BIN="$PWD/../../build/clearhouse" npm test --silent
