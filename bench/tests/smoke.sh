#!/usr/bin/env bash
# smoke.sh CRIER CRIER_BENCH [bench args...] [-- server args...]
# Starts crier (or bench/fanout-floor, given as CRIER) on 127.0.0.1, port 0, reads the port from its "listening on" line, runs
# crier-bench against it with --server-pid and the given arguments, and exits with crier-bench's
# status (non-zero on loss, gaps, duplicates, reorders or errors). Every wait is bounded.
set -euo pipefail
crier=$1 bench=$2
shift 2
bench_args=() extra_server_args=()
while [[ $# -gt 0 && $1 != -- ]]; do bench_args+=("$1"); shift; done
[[ $# -gt 0 ]] && shift # the --
extra_server_args=("$@")

log=$(mktemp)
crier_pid=
cleanup() {
  if [[ -n $crier_pid ]] && kill -0 "$crier_pid" 2>/dev/null; then
    kill -TERM "$crier_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$crier_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$crier_pid" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap cleanup EXIT

: >"$log"
server_args=(--address 127.0.0.1 --port 0 --threads 1 --log-level info)
[[ $(basename "$crier") == fanout-floor ]] && server_args=(--port 0) # loopback only, one thread
"$crier" "${server_args[@]}" "${extra_server_args[@]}" >"$log" 2>&1 &
crier_pid=$!

port=
for _ in $(seq 100); do # up to 10 s
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n1 || true)
  [[ -n $port ]] && break
  kill -0 "$crier_pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $port ]]; then
  echo "smoke: crier did not start listening; its log:" >&2
  cat "$log" >&2
  exit 1
fi

status=0
timeout 150 "$bench" --host 127.0.0.1 --port "$port" --server-pid "$crier_pid" "${bench_args[@]}" || status=$?
if [[ $status -ne 0 ]]; then
  echo "smoke: crier-bench exited with $status; crier's log (last 20 lines):" >&2
  tail -n 20 "$log" >&2
fi
exit "$status"
