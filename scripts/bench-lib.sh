# Shared by the benchmark scripts (bench-gateway.sh, bench-front-door.sh): a scratch folder removed
# at exit with every server started in it, starting a server and waiting for its port, and reading a
# process's CPU time. Source it after setting BENCH_NAME (the prefix of error messages).
#
#   BENCH_NAME=bench-x; source "$(dirname "$0")/bench-lib.sh"
#   start_server upstream build/clearhouse replay-upstream --data data --port 0
#   echo "$PORT_upstream $PID_upstream"; cpu_seconds "$PID_upstream"

WORK=$(mktemp -d)
PIDS=()
bench_cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap bench_cleanup EXIT

# start_server NAME CMD...: starts a server in the background (its pid in PID_<NAME>) and waits for
# the first stdout line "listening on HOST:PORT" (the port in PORT_<NAME>).
start_server() {
  local name=$1; shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  local pid=$! tries=0
  PIDS+=("$pid")
  until grep -q '^listening on ' "$WORK/$name.out" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$BENCH_NAME: $name exited:" >&2; cat "$WORK/$name.err" >&2; exit 1
    fi
    (( ++tries > 600 )) && { echo "$BENCH_NAME: $name did not start" >&2; exit 1; }
    sleep 0.05
  done
  printf -v "PID_$name" '%s' "$pid"
  printf -v "PORT_$name" '%s' "$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -1)"
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
