#!/usr/bin/env bash
# Load benchmark of the gateway (`clearhouse serve`) against calling its upstream directly, with
# `clearhouse loadgen` (src/tools/load_generator.h). Figures and how to read them:
# docs/performance.md, section "Gateway".
#
# Starts a replay upstream (`clearhouse replay-upstream --port 0`: non-streaming answers are never
# paced, streams are paced at STREAM_TPS tokens/s) and a gateway in front of it with a budget so
# large nothing is rejected (policy clear, no predictor, one client key), then measures:
#   (a) the upstream directly and (b) through the gateway, open loop at RATE req/s for DURATION s
#       with the same connections: added latency = gateway percentile - direct percentile;
#   (c) the most non-streaming requests per second, closed loop with MAX_CONNECTIONS connections,
#       gateway and direct;
#   (d) STREAMS streams of STREAM_TOKENS tokens held open at once through the gateway, each of which
#       must answer 200 and end with data: [DONE];
#   (e) Responses API requests (POST /v1/responses, max_output_tokens MAX_TOKENS), open loop as in
#       (a)/(b): directly, through the gateway to an upstream with `api: responses` (passed through),
#       and through the gateway to one with `api: chat` (translated to chat and back).
# Prints a summary table and writes every run's JSON (plus load averages and the hypervisor's steal
# time during the run: the share of the cores another VM had, which no load average shows) to OUT.
#
# The load generator and both servers share the machine's cores, so (c) measures the three together:
# a gateway on its own cores does better. The load average is reported before and after.
#
# Usage: scripts/bench-gateway.sh [--binary build/clearhouse] [--out build/bench-gateway.json]
#   environment: RATE=500 DURATION=10 WARMUP=1 CONNECTIONS=16 MAX_CONNECTIONS=32 MAX_DURATION=10
#                STREAMS=1000 STREAM_TOKENS=20 STREAM_TPS=10 MAX_TOKENS=16
#                NICE=0 (e.g. -10, as root: run the three processes ahead of other work on a shared
#                machine, so the figures say more about the gateway than about the neighbours)
set -euo pipefail

cd "$(dirname "$0")/.."
BINARY=build/clearhouse
OUT=build/bench-gateway.json
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) BINARY="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bench-gateway: unknown option $1" >&2; exit 2 ;;
  esac
done
RATE=${RATE:-500}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-32}
MAX_DURATION=${MAX_DURATION:-10}
STREAMS=${STREAMS:-1000}
STREAM_TOKENS=${STREAM_TOKENS:-20}
STREAM_TPS=${STREAM_TPS:-10}
MAX_TOKENS=${MAX_TOKENS:-16}
NICE=${NICE:-0}
RUN=(nice -n "$NICE")

[[ -x "$BINARY" ]] || { echo "bench-gateway: no binary at $BINARY (build it: ninja -C build clearhouse)" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-gateway: needs jq" >&2; exit 2; }
# 1,000 streams need ~2,000 descriptors in the gateway and 1,000 in the generator and the upstream.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

BENCH_NAME=bench-gateway
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The machine's CPU counters (all cores): "steal total" in clock ticks. Steal is time the hypervisor
# gave this VM's cores to others: runs with much of it measure the host's neighbours, not the gateway.
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; ++i) t += $i; print $9, t}' /proc/stat; }

start_server upstream "${RUN[@]}" "$BINARY" replay-upstream --data data --port 0 \
  --tokens-per-second "$STREAM_TPS" --threads 8192
UPSTREAM_PORT=$PORT_upstream

KEY="ch-bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_SHA=$(printf '%s\n' "$KEY" | "$BINARY" hash-key)
cat >"$WORK/gateway.yaml" <<EOF
listen: 127.0.0.1:0
ledger: $WORK/ledger.db
budget: {completion_tokens: 1000000000000, window_seconds: 0}
policy: clear
on_abandon: reject
limits: {max_connections: 8192, idle_timeout_seconds: 30}
upstreams:
  - name: replay
    base_url: http://127.0.0.1:$UPSTREAM_PORT
    model: Qwen2-7B-Instruct
    price_per_mtok: 0.6
  - name: replay-responses
    base_url: http://127.0.0.1:$UPSTREAM_PORT
    model: responses-passthrough
    api: responses
    price_per_mtok: 0.6
keys:
  - {id: bench, sha256: $KEY_SHA}
EOF
start_server gateway "${RUN[@]}" "$BINARY" serve --config "$WORK/gateway.yaml"
GATEWAY_PORT=$PORT_gateway
export CLEARHOUSE_BENCH_KEY="$KEY"
DIRECT=http://127.0.0.1:$UPSTREAM_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT

# loadgen LABEL URL ARGS...: one run, its JSON in WORK, with the load average before and after and
# the CPU the gateway and the upstream used during it (per request: CPU seconds / requests sent,
# warm-up included), which the machine's other load does not inflate the way it does wall times.
loadgen() {
  local label=$1 url=$2; shift 2
  local before gw0 up0 ticks0; before=$(loadavg); gw0=$(cpu_seconds "$PID_gateway"); up0=$(cpu_seconds "$PID_upstream")
  ticks0=$(cpu_ticks)
  echo "bench-gateway: $label (load average $before)" >&2
  "${RUN[@]}" "$BINARY" loadgen --url "$url" --api-key-env CLEARHOUSE_BENCH_KEY \
    --label "$label" --json "$@" >"$WORK/$label.json"
  local steal; steal=$(echo "$ticks0 $(cpu_ticks)" | awk '{d = $4 - $2; print (d > 0 ? 100 * ($3 - $1) / d : 0)}')
  jq --arg before "$before" --arg after "$(loadavg)" --argjson steal "$steal" \
     --argjson gw "$(awk -v a="$(cpu_seconds "$PID_gateway")" -v b="$gw0" 'BEGIN {print a - b}')" \
     --argjson up "$(awk -v a="$(cpu_seconds "$PID_upstream")" -v b="$up0" 'BEGIN {print a - b}')" '
    . + {loadavg_before: $before, loadavg_after: $after, steal_percent: $steal,
         cpu_seconds: {gateway: $gw, upstream: $up, loadgen: .cpu_seconds},
         cpu_us_per_request: {gateway: ($gw / .sent_with_warmup * 1e6), upstream: ($up / .sent_with_warmup * 1e6),
                              loadgen: (.cpu_seconds / .sent_with_warmup * 1e6)}}' \
    "$WORK/$label.json" >"$WORK/$label.tmp" && mv "$WORK/$label.tmp" "$WORK/$label.json"
}

OPEN=(--max-tokens "$MAX_TOKENS" --rate "$RATE" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP")
loadgen direct_open "$DIRECT" "${OPEN[@]}"
loadgen gateway_open "$GATEWAY" "${OPEN[@]}"
CLOSED=(--max-tokens "$MAX_TOKENS" --connections "$MAX_CONNECTIONS" --duration "$MAX_DURATION" --warmup "$WARMUP")
loadgen direct_max "$DIRECT" "${CLOSED[@]}"
loadgen gateway_max "$GATEWAY" "${CLOSED[@]}"
loadgen gateway_streams "$GATEWAY" --stream --max-tokens "$STREAM_TOKENS" --requests "$STREAMS" \
  --connections "$STREAMS" --timeout 120
# responses_body MODEL: a short Responses request (the replay upstream serves any model name).
responses_body() { printf '{"model":"%s","input":"What is 2 + 2?","max_output_tokens":%s}' "$1" "$MAX_TOKENS"; }
RESPONSES_OPEN=(--path /v1/responses --rate "$RATE" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP")
loadgen direct_responses_open "$DIRECT" "${RESPONSES_OPEN[@]}" --body "$(responses_body responses-passthrough)"
loadgen gateway_responses_open "$GATEWAY" "${RESPONSES_OPEN[@]}" --body "$(responses_body responses-passthrough)"
loadgen gateway_responses_translated_open "$GATEWAY" "${RESPONSES_OPEN[@]}" --body "$(responses_body Qwen2-7B-Instruct)"

mkdir -p "$(dirname "$OUT")"
jq -s '
  (map({(.label): .}) | add) as $r
  | def added(g; d): {p50: (g.latency.p50_ms - d.latency.p50_ms), p90: (g.latency.p90_ms - d.latency.p90_ms),
                       p99: (g.latency.p99_ms - d.latency.p99_ms)};
  {
    machine: {cores: $cores, loadavg_end: $loadavg, nice: $nice},
    added_latency_ms: added($r.gateway_open; $r.direct_open),
    responses_added_latency_ms: {passthrough: added($r.gateway_responses_open; $r.direct_responses_open),
                                 translated: added($r.gateway_responses_translated_open; $r.direct_responses_open)},
    max_rate: {gateway: $r.gateway_max.ok_rate, direct: $r.direct_max.ok_rate,
               gateway_over_direct: ($r.gateway_max.ok_rate / $r.direct_max.ok_rate)},
    streams: {requested: ($r.gateway_streams.options.requests), ok: $r.gateway_streams.ok,
              peak_open: $r.gateway_streams.peak_in_flight, outcomes: $r.gateway_streams.outcomes},
    runs: $r
  }' --argjson cores "$(nproc)" --argjson nice "$NICE" --arg loadavg "$(loadavg)" "$WORK"/{direct_open,gateway_open,direct_max,gateway_max,gateway_streams,direct_responses_open,gateway_responses_open,gateway_responses_translated_open}.json >"$OUT"

jq -r '
  def f(x): (x * 1000 | round) / 1000;
  def row(name; r): "| \(name) | \(r.options.connections) | \(r.ok)/\(r.sent) | \(r.achieved_rate | round) | \(f(r.latency.p50_ms)) | \(f(r.latency.p90_ms)) | \(f(r.latency.p99_ms)) | \(f(r.latency.max_ms)) | \(r.cpu_us_per_request.gateway | round) / \(r.cpu_us_per_request.upstream | round) / \(r.cpu_us_per_request.loadgen | round) | \(r.loadavg_before) | \(r.steal_percent | round) |";
  "| run | connections | ok/sent | req/s | p50 ms | p90 ms | p99 ms | max ms | CPU µs/request gateway / upstream / loadgen | load avg before | steal % |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  row("direct, open loop \(.runs.direct_open.options.rate)/s"; .runs.direct_open),
  row("gateway, open loop \(.runs.gateway_open.options.rate)/s"; .runs.gateway_open),
  row("direct, closed loop"; .runs.direct_max),
  row("gateway, closed loop"; .runs.gateway_max),
  row("gateway, streams (first byte p50 \(f(.runs.gateway_streams.first_byte.p50_ms)) ms)"; .runs.gateway_streams),
  row("direct, responses, open loop \(.runs.direct_responses_open.options.rate)/s"; .runs.direct_responses_open),
  row("gateway, responses passed through, open loop"; .runs.gateway_responses_open),
  row("gateway, responses translated to chat, open loop"; .runs.gateway_responses_translated_open),
  "",
  "added latency at \(.runs.gateway_open.options.rate)/s: p50 \(f(.added_latency_ms.p50)) ms, p90 \(f(.added_latency_ms.p90)) ms, p99 \(f(.added_latency_ms.p99)) ms",
  "added latency of responses: passed through p50 \(f(.responses_added_latency_ms.passthrough.p50)) ms, p90 \(f(.responses_added_latency_ms.passthrough.p90)) ms; translated p50 \(f(.responses_added_latency_ms.translated.p50)) ms, p90 \(f(.responses_added_latency_ms.translated.p90)) ms",
  "max non-streaming rate: gateway \(.max_rate.gateway | round)/s, direct \(.max_rate.direct | round)/s (ratio \(f(.max_rate.gateway_over_direct)))",
  "streams: \(.streams.ok) of \(.streams.requested) complete with [DONE], peak \(.streams.peak_open) open at once; outcomes \(.streams.outcomes | tostring)",
  "load average at the end: \(.machine.loadavg_end) on \(.machine.cores) cores (nice \(.machine.nice)); JSON: '"$OUT"'"
' "$OUT"
