#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: GoogleTest through ctest, then the official
# OpenAI SDK for Node against the real gateway (scripts/test-sdk.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
bash scripts/test-sdk.sh
