#!/usr/bin/env bash
# The gateway's front door under load, with an independent load generator (wrk, from Debian) and
# hostile clients (scripts/front-door-clients.mjs, Node.js). Figures and how to read them:
# docs/performance.md, section "Front door".
#
# Starts a replay upstream (zero delay for whole answers; streams paced at STREAM_TPS tokens/s) and
# the gateway in front of it (and, with --baseline, a second gateway built from another commit, on
# the same upstream, measured in the same run), then measures:
#   (1) throughput: wrk, CONNECTIONS connections for DURATION s, non-streamed chat requests of
#       MAX_TOKENS tokens: requests/s, and the gateway's own CPU per request (user + system from
#       /proc, divided by the requests wrk completed); the upstream directly for reference;
#   (2) added latency: wrk with one connection, p50 through the gateway minus p50 direct;
#   (3) IDLE idle connections held open: the gateway's CPU over DURATION s while they idle, then
#       (1) without and with them held, alternated IDLE_ROUNDS times (medians and their ratio);
#   (4) SLOWLORIS connections each sending one header byte every 2 s: the slowest of 50 real
#       requests made meanwhile (curl);
#   (5) STREAMS streamed requests at once (STREAM_TOKENS tokens each): how many complete.
#
# Usage: scripts/bench-front-door.sh [--binary build/clearhouse] [--baseline OTHER_BINARY]
#   environment: DURATION=10 CONNECTIONS=32 MAX_TOKENS=16 IDLE=10000 IDLE_ROUNDS=3 SLOWLORIS=2000
#                STREAMS=10000 STREAM_TOKENS=20 STREAM_TPS=10
#                EVENT_LOOPS=1 (the gateway's limits.event_loops; 0 is one per core: on 2 cores
#                shared with wrk and the upstream, one loop costs less CPU per request)
set -euo pipefail
cd "$(dirname "$0")/.."
BINARY=build/clearhouse
BASELINE=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) BINARY="$2"; shift 2 ;;
    --baseline) BASELINE="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "bench-front-door: unknown option $1" >&2; exit 2 ;;
  esac
done
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
MAX_TOKENS=${MAX_TOKENS:-16}
IDLE=${IDLE:-10000}
IDLE_ROUNDS=${IDLE_ROUNDS:-3}
SLOWLORIS=${SLOWLORIS:-2000}
STREAMS=${STREAMS:-10000}
STREAM_TOKENS=${STREAM_TOKENS:-20}
STREAM_TPS=${STREAM_TPS:-10}
EVENT_LOOPS=${EVENT_LOOPS:-1}

for tool in wrk node curl; do
  command -v "$tool" >/dev/null || { echo "bench-front-door: needs $tool (apt-get install -y $tool)" >&2; exit 2; }
done
[[ -x "$BINARY" ]] || { echo "bench-front-door: no binary at $BINARY" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

BENCH_NAME=bench-front-door
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

start_server upstream "$BINARY" replay-upstream --data data --port 0 \
  --tokens-per-second "$STREAM_TPS" --threads 16384

KEY="ch-bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_SHA=$(printf '%s\n' "$KEY" | "$BINARY" hash-key)
gateway_config() {  # NAME
  cat >"$WORK/$1.yaml" <<EOF
listen: 127.0.0.1:0
ledger: $WORK/$1.db
budget: {completion_tokens: 1000000000000, window_seconds: 0}
policy: clear
on_abandon: reject
limits: {max_connections: 30000, idle_timeout_seconds: 600, header_timeout_seconds: 600, event_loops: $EVENT_LOOPS}
upstreams:
  - name: replay
    base_url: http://127.0.0.1:$PORT_upstream
    model: Qwen2-7B-Instruct
    price_per_mtok: 0.6
    # 10,000 streams open 10,000 upstream connections at once; on 2 cores the replay upstream
    # accepts some of them after more than the default 5 s (SYNs retried), so allow 30.
    timeouts: {connect_seconds: 30}
keys:
  - {id: bench, sha256: $KEY_SHA}
EOF
}
gateway_config gateway
start_server gateway "$BINARY" serve --config "$WORK/gateway.yaml"
if [[ -n "$BASELINE" ]]; then
  gateway_config baseline
  start_server baseline "$BASELINE" serve --config "$WORK/baseline.yaml"
fi

QUESTION='Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?'
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"model": "Qwen2-7B-Instruct", "max_tokens": $MAX_TOKENS, "messages": [{"role": "user", "content": "$QUESTION"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
EOF

# run_wrk LABEL PORT PID CONNECTIONS: one wrk run; prints "LABEL rps p50_us cpu_us_per_request".
run_wrk() {
  local label=$1 port=$2 pid=$3 connections=$4 cpu0 cpu1
  cpu0=$(cpu_seconds "$pid")
  wrk -t1 -c"$connections" -d"${DURATION}s" --latency -s "$WORK/post.lua" \
    "http://127.0.0.1:$port/v1/chat/completions" >"$WORK/$label.wrk"
  cpu1=$(cpu_seconds "$pid")
  awk -v label="$label" -v cpu="$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN {print a - b}')" '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1e6 }
    / requests in / { requests = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%-28s %10.0f req/s  p50 %8.1f us  cpu %7.1f us/request  non-2xx %d\n",
          label, rps, p50, cpu / requests * 1e6, bad }' "$WORK/$label.wrk"
}

echo "== (1) throughput, $CONNECTIONS connections, ${DURATION}s each"
run_wrk direct "$PORT_upstream" "$PID_upstream" "$CONNECTIONS"
run_wrk gateway "$PORT_gateway" "$PID_gateway" "$CONNECTIONS"
[[ -n "$BASELINE" ]] && run_wrk baseline "$PORT_baseline" "$PID_baseline" "$CONNECTIONS"

echo "== (2) one connection: added p50 = gateway p50 - direct p50"
run_wrk direct_1 "$PORT_upstream" "$PID_upstream" 1
run_wrk gateway_1 "$PORT_gateway" "$PID_gateway" 1
[[ -n "$BASELINE" ]] && run_wrk baseline_1 "$PORT_baseline" "$PID_baseline" 1

# hold MODE N PORT: starts front-door-clients.mjs MODE and waits until it holds its connections.
hold() {
  local mode=$1 n=$2 port=$3
  node scripts/front-door-clients.mjs "$mode" "$port" "$n" >"$WORK/$mode.out" 2>&1 &
  HOLDER=$!
  PIDS+=("$HOLDER")
  local tries=0
  until grep -q '^holding' "$WORK/$mode.out" 2>/dev/null; do
    kill -0 "$HOLDER" 2>/dev/null || { echo "bench-front-door: $mode clients exited:" >&2; cat "$WORK/$mode.out" >&2; exit 1; }
    (( ++tries > 1200 )) && { echo "bench-front-door: $mode clients did not connect" >&2; exit 1; }
    sleep 0.05
  done
}

# The idle connections' CPU, then throughput without and with them held, alternated IDLE_ROUNDS
# times (runs of the same build a few seconds apart differ by more than the effect measured, so one
# pair proves little); prints the medians and their ratio.
idle_phase() {  # NAME PORT PID
  local name=$1 port=$2 pid=$3 cpu0 cpu1 r
  hold idle "$IDLE" "$port"
  sleep 1
  cpu0=$(cpu_seconds "$pid"); sleep "$DURATION"; cpu1=$(cpu_seconds "$pid")
  awk -v n="$IDLE" -v name="$name" -v c="$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN {print a - b}')" -v d="$DURATION" \
    'BEGIN {printf "%-28s %d idle connections: %.2f%% of one core\n", name, n, 100 * c / d}'
  kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
  : >"$WORK/${name}_idle_rounds"
  for r in $(seq "$IDLE_ROUNDS"); do
    run_wrk "${name}_no_idle_$r" "$port" "$pid" "$CONNECTIONS" | tee -a "$WORK/${name}_idle_rounds"
    hold idle "$IDLE" "$port"
    sleep 1
    run_wrk "${name}_with_idle_$r" "$port" "$pid" "$CONNECTIONS" | tee -a "$WORK/${name}_idle_rounds"
    kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
  done
  awk -v name="$name" '
    function median(a, n,    i, j, t) {
      for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 ~ /_no_idle_/ { without[++n0] = $2 }
    $1 ~ /_with_idle_/ { with[++n1] = $2 }
    END { m0 = median(without, n0); m1 = median(with, n1)
          printf "%-28s median of %d rounds: %.0f req/s without, %.0f with idle connections held (%+.1f%%)\n",
                 name, n0, m0, m1, 100 * (m1 - m0) / m0 }' "$WORK/${name}_idle_rounds"
}
echo "== (3) idle connections"
idle_phase gateway "$PORT_gateway" "$PID_gateway"
[[ -n "$BASELINE" ]] && idle_phase baseline "$PORT_baseline" "$PID_baseline"

slowloris_phase() {  # NAME PORT
  local name=$1 port=$2
  hold slowloris "$SLOWLORIS" "$port"
  local slowest=0 failed=0
  for _ in $(seq 50); do
    local t
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 \
      -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"model\": \"Qwen2-7B-Instruct\", \"max_tokens\": $MAX_TOKENS, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}" \
      "http://127.0.0.1:$port/v1/chat/completions" || echo "000 30")
    [[ ${t%% *} == 200 ]] || failed=$((failed + 1))
    slowest=$(awk -v a="$slowest" -v b="${t##* }" 'BEGIN {print (b > a ? b : a)}')
  done
  printf "%-28s %d slowloris connections: slowest of 50 requests %.3f s, %d failed\n" \
    "$name" "$SLOWLORIS" "$slowest" "$failed"
  kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
}
echo "== (4) slowloris"
slowloris_phase gateway "$PORT_gateway"
[[ -n "$BASELINE" ]] && slowloris_phase baseline "$PORT_baseline"

echo "== (5) $STREAMS streams at once, $STREAM_TOKENS tokens each at $STREAM_TPS tokens/s"
threads0=$(awk '/^Threads/ {print $2}' "/proc/$PID_gateway/status")
node scripts/front-door-clients.mjs streams "$PORT_gateway" "$STREAMS" "$KEY" "$STREAM_TOKENS" >"$WORK/streams.json" &
STREAMER=$!
PIDS+=("$STREAMER")
peak_threads=$threads0
while kill -0 "$STREAMER" 2>/dev/null; do
  t=$(awk '/^Threads/ {print $2}' "/proc/$PID_gateway/status")
  (( t > peak_threads )) && peak_threads=$t
  sleep 0.2
done
wait "$STREAMER" || true
echo "gateway streams: $(cat "$WORK/streams.json"), gateway threads: $threads0 before, $peak_threads at most"
