#!/usr/bin/env bash
# Throughput and memory benchmark of `clearhouse run` (src/run/) against a zero-delay replay
# upstream. Figures and how to read them: docs/performance.md, section "`clearhouse run`".
#
# Generates a Batch API batch of QUERIES chat lines (the recorded questions of data/, repeated with
# distinct custom_ids), starts `clearhouse replay-upstream --port 0` (non-streaming answers are never
# paced, so the upstream answers as fast as it can), then runs the batch under /usr/bin/time with a
# budget of PER_QUERY tokens per query and prints:
#   requests/s       requests the run sent / its wall time (from its summary: the run itself, after
#                    reading the input and before writing the summary);
#   CPU µs/request   user + system CPU of the run process (whole process: start-up, parsing, state,
#                    output) / requests;
#   max RSS          the run process's peak resident memory (/usr/bin/time -v).
# Also the upstream's CPU per request, the load average before and after, and the hypervisor's steal
# time during the run. The upstream, the run and anything else on the machine share its cores.
#
# Usage: scripts/bench-run.sh [--binary build/clearhouse] [--out build/bench-run.json]
#   environment: QUERIES=100000 PER_QUERY=128 POLICY=progressive CONCURRENCY=32 REPEAT=1
#                EXTRA="" (more options for `clearhouse run`), NICE=0
set -euo pipefail

cd "$(dirname "$0")/.."
BINARY=build/clearhouse
OUT=build/bench-run.json
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) BINARY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench-run: unknown option $1" >&2; exit 2 ;;
  esac
done
QUERIES=${QUERIES:-100000}
PER_QUERY=${PER_QUERY:-128}
POLICY=${POLICY:-progressive}
CONCURRENCY=${CONCURRENCY:-32}
REPEAT=${REPEAT:-1}
EXTRA=${EXTRA:-}
NICE=${NICE:-0}
RUN=(nice -n "$NICE")

[[ -x "$BINARY" ]] || { echo "bench-run: no binary at $BINARY (build it: ninja -C build clearhouse)" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-run: needs jq" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-run: needs /usr/bin/time (GNU time, for the peak RSS)" >&2; exit 2; }

WORK=$(mktemp -d)
UPSTREAM_PID=
cleanup() {
  if [[ -n "$UPSTREAM_PID" ]]; then kill "$UPSTREAM_PID" 2>/dev/null || true; wait "$UPSTREAM_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# "steal total" in clock ticks over all cores (see scripts/bench-gateway.sh).
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; ++i) t += $i; print $9, t}' /proc/stat; }

# The batch: question k % 1617 of questions.jsonl as line k, custom_id "q<k>".
jq -c --slurp --argjson n "$QUERIES" '
  . as $qs | range($n) as $k | $qs[$k % ($qs | length)] |
  {custom_id: "q\($k)", method: "POST", url: "/v1/chat/completions",
   body: {model: "Qwen2-7B-Instruct", messages: [{role: "user", content: .question}]}}' \
  data/zeroeval/questions.jsonl >"$WORK/batch.jsonl"

"${RUN[@]}" "$BINARY" replay-upstream --data data --port 0 --threads 1024 >"$WORK/upstream.out" 2>"$WORK/upstream.err" &
UPSTREAM_PID=$!
tries=0
until grep -q '^listening on ' "$WORK/upstream.out" 2>/dev/null; do
  kill -0 "$UPSTREAM_PID" 2>/dev/null || { echo "bench-run: the upstream exited:" >&2; cat "$WORK/upstream.err" >&2; exit 1; }
  (( ++tries > 600 )) && { echo "bench-run: the upstream did not start" >&2; exit 1; }
  sleep 0.05
done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/upstream.out" | head -1)

RESULTS=()
for ((r = 1; r <= REPEAT; ++r)); do
  rm -f "$WORK/out.jsonl" "$WORK/out.jsonl.state"*
  before=$(loadavg); up0=$(cpu_seconds "$UPSTREAM_PID"); ticks0=$(cpu_ticks)
  # shellcheck disable=SC2086
  "${RUN[@]}" /usr/bin/time -v -o "$WORK/time.txt" "$BINARY" run --input "$WORK/batch.jsonl" \
    --out "$WORK/out.jsonl" --upstream "http://127.0.0.1:$PORT" --per-query "$PER_QUERY" \
    --policy "$POLICY" --concurrency "$CONCURRENCY" --quiet $EXTRA >"$WORK/summary.json"
  up=$(awk -v a="$(cpu_seconds "$UPSTREAM_PID")" -v b="$up0" 'BEGIN {print a - b}')
  steal=$(echo "$ticks0 $(cpu_ticks)" | awk '{d = $4 - $2; print (d > 0 ? 100 * ($3 - $1) / d : 0)}')
  user=$(sed -n 's/^\s*User time (seconds): //p' "$WORK/time.txt")
  sys=$(sed -n 's/^\s*System time (seconds): //p' "$WORK/time.txt")
  rss_kb=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
  lines=$(wc -l <"$WORK/out.jsonl")
  RESULTS+=("$(jq -c --arg before "$before" --arg after "$(loadavg)" --argjson steal "$steal" \
    --argjson user "$user" --argjson sys "$sys" --argjson rss_kb "$rss_kb" --argjson up "$up" \
    --argjson lines "$lines" --argjson concurrency "$CONCURRENCY" --arg policy "$POLICY" \
    --argjson per_query "$PER_QUERY" '
    {queries, lines: $lines, policy: $policy, per_query: $per_query, concurrency: $concurrency,
     requests: .requests_this_run, wall_seconds, spent, budget,
     requests_per_second: (.requests_this_run / .wall_seconds),
     cpu_seconds: ($user + $sys), cpu_us_per_request: (($user + $sys) / .requests_this_run * 1e6),
     upstream_cpu_us_per_request: ($up / .requests_this_run * 1e6),
     max_rss_mb: ($rss_kb / 1024), loadavg_before: $before, loadavg_after: $after,
     steal_percent: $steal}' "$WORK/summary.json")")
done

printf '%s\n' "${RESULTS[@]}" | jq -s . >"$OUT"
echo "| queries | policy | requests | wall s | requests/s | run CPU µs/request | upstream CPU µs/request | max RSS MB | load before → after | steal % |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
jq -r '.[] | "| \(.queries) | \(.policy) | \(.requests) | \(.wall_seconds * 100 | round / 100) | \(.requests_per_second | round) | \(.cpu_us_per_request | round) | \(.upstream_cpu_us_per_request | round) | \(.max_rss_mb | round) | \(.loadavg_before) → \(.loadavg_after) | \(.steal_percent * 10 | round / 10) |"' "$OUT"
echo "bench-run: every run's JSON in $OUT" >&2
