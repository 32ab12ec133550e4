#!/usr/bin/env bash
# Fuzzes one target with libFuzzer (docs/fuzzing.md): TARGET=request_parser (default; the gateway's
# request and SSE parsing) or TARGET=http_request (the server's HTTP parser settings and checks).
# Builds fuzz/ with clang-14 (coverage + ASan + UBSan) in build-fuzz/, then runs the target for SECONDS (default 60) on a scratch
# copy of the corpus, so the repository's corpus only changes when asked.
#
#   scripts/fuzz.sh [SECONDS] [--merge] [-- LIBFUZZER_FLAGS...]
#
# --merge   afterwards, add the inputs that reached new coverage to fuzz/corpus/$TARGET/
#           (libFuzzer -merge=1 keeps only those; commit them).
# A crash stops the run with a non-zero exit; the input is saved in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
merge=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --merge) merge=1 ;;
    --) shift; extra=("$@"); break ;;
    *) seconds="$1" ;;
  esac
  shift
done

# clang-14 and its libFuzzer runtime (Debian: clang-14, libclang-rt-14-dev).
missing=()
command -v clang++-14 >/dev/null || missing+=(clang-14)
compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null ||
  missing+=(libclang-rt-14-dev)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLEARHOUSE_FUZZ=ON -DCLEARHOUSE_TESTS=OFF "${launcher[@]}" >/dev/null
target=${TARGET:-request_parser}
cmake --build build-fuzz -j"${JOBS:-2}" --target "${target}_fuzz"

fuzzer=build-fuzz/fuzz/${target}_fuzz
corpus=fuzz/corpus/$target
dict=()
if [ -f "fuzz/$target.dict" ]; then dict=(-dict="fuzz/$target.dict"); fi
scratch=build-fuzz/corpus-run
rm -rf "$scratch"
mkdir -p "$scratch" build-fuzz/artifacts
cp "$corpus"/* "$scratch"/

"$fuzzer" "$scratch" "${dict[@]}" -max_len=65536 -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -artifact_prefix=build-fuzz/artifacts/ -print_final_stats=1 \
  "${extra[@]}"

if [ "$merge" = 1 ]; then
  # Edges only (no hit-count buckets): several times fewer files for the same code reached.
  "$fuzzer" -merge=1 -use_counters=0 -max_len=65536 "$corpus" "$scratch"
  echo "corpus: $(find "$corpus" -type f | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
fi
