#!/usr/bin/env bash
# Configures and builds clearhouse (Release, Ninja) into build/. Warnings are errors when CI is set.
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
if [ -n "${CI:-}" ]; then werror=ON; fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCLEARHOUSE_TESTS=ON \
  -DCLEARHOUSE_WERROR="$werror" "$@"
cmake --build build -j"$(nproc)"
