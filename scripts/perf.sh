#!/usr/bin/env bash
# Reproduces the load figures of docs/PERFORMANCE.md on a 2-core Linux machine: release
# builds, a 100,000-user and a 1,000-user population made with `twofold-load prepare` and
# imported with `twofold user import`, the server pinned to core 0 and the load tool to
# core 1 (taskset), every scenario at concurrency 16 and 64, the `hello` ceiling, and the
# Argon2id baseline. Writes one JSON report per run and summary.md to $OUT.
#
#   scripts/perf.sh                      # everything, 10 s per run (about 15 minutes)
#   DURATION=5s BIG_USERS=20000 scripts/perf.sh
#
# Only loopback addresses are used; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-for-load.sh
. scripts/serve-for-load.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/twofold-perf-target}"
OUT="${OUT:-$PWD/target/perf}"
DURATION="${DURATION:-10s}"
BIG_USERS="${BIG_USERS:-100000}"
SMALL_USERS="${SMALL_USERS:-1000}"
SIGNIN_USERS="${SIGNIN_USERS:-400}"
# Flows prepared for each mfa-step run: each costs a password check up front, and since
# imported hashes are upgraded to Argon2id at the first sign-in that is ~25 ms of the
# server's core apiece, so a run measures until these are used up.
FLOWS="${FLOWS:-6000}"
SERVER_CORE="${SERVER_CORE:-0}"
LOAD_CORE="${LOAD_CORE:-1}"
PORT="${PORT:-18080}"
HELLO_PORT="${HELLO_PORT:-18081}"

command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
cargo build --release -p twofold-cli -p twofold-load
BIN="$CARGO_TARGET_DIR/release"
TWOFOLD="$BIN/twofold"
LOAD="$BIN/twofold-load"

mkdir -p "$OUT"
scratch_until_exit

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
  echo "- memory: $(free -g | awk '/Mem:/ {print $2}') GiB; kernel $(uname -r)"
  echo "- $(rustc --version)"
  echo "- run at $(date -u +%Y-%m-%dT%H:%MZ), $DURATION per run"
} > "$OUT/machine.md"

# A population: data dir $1, users $2, password cost $3, prefix $4 (into org "load").
populate() {
  local dir="$1" users="$2" cost="$3" prefix="$4"
  mkdir -p "$dir"
  [ -e "$dir/.org" ] || { "$TWOFOLD" --data-dir "$dir" org create load >/dev/null; touch "$dir/.org"; }
  # Period 1 s: each user can pass a fresh code every second, so a run of 10 s needs
  # ten times fewer users than with 30 s steps; the check itself is the same.
  "$LOAD" prepare --users "$users" --prefix "$prefix" --period 1 --password-cost "$cost" \
    --out "$dir/$prefix.csv" >/dev/null
  local start end
  start=$(date +%s.%N)
  "$TWOFOLD" --data-dir "$dir" user import --org load "$dir/$prefix.csv" >/dev/null
  end=$(date +%s.%N)
  echo "$prefix $users $(echo "$end - $start" | bc)" >> "$OUT/imports.txt"
}

start_server() { # data dir → sets SERVER_PID
  serve_for_load "$OUT/server.log" "$PORT" taskset -c "$SERVER_CORE" "$TWOFOLD" --data-dir "$1"
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
}

# run NAME SCENARIO CONCURRENCY USERS_FILE [extra args…]
run() {
  local name="$1" scenario="$2" conc="$3" file="$4"; shift 4
  local users=()
  [ "$file" = - ] || users=(--users-file "$file")
  echo "== $name"
  taskset -c "$LOAD_CORE" "$LOAD" run "$scenario" --url "http://127.0.0.1:$PORT" --org load \
    "${users[@]}" --concurrency "$conc" --duration "$DURATION" \
    --server-pid "$SERVER_PID" --json "$@" > "$OUT/$name.json"
}

rm -f "$OUT"/*.json "$OUT/imports.txt"
machine

# The ceiling: a plain HTTP "hello" on the same stack and core.
taskset -c "$SERVER_CORE" "$LOAD" hello --listen "127.0.0.1:$PORT" --max-duration 10m &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
sleep 0.5
for c in 16 64; do run "hello-c$c" hello "$c" -; done
stop_server

BIG="$WORK/big"
populate "$BIG" "$BIG_USERS" fast load
populate "$BIG" "$SIGNIN_USERS" owasp signin
start_server "$BIG"
# Argon2id alone on the server's core (the server is idle), next to the sign-in runs: the
# virtual CPU's speed drifts by some 20 % over a run, so the two are measured close.
taskset -c "$SERVER_CORE" "$LOAD" argon2-baseline --duration 5s --json > "$OUT/argon2-baseline.json"
for c in 16 64; do
  run "mfa-step-c$c" mfa-step "$c" "$BIG/load.csv" --flows "$FLOWS"
  run "healthz-c$c" hello "$c" - --path /healthz
  run "sign-in-c$c" sign-in "$c" "$BIG/signin.csv"
  run "storm-c$c" storm "$c" "$BIG/signin.csv"
done
run "wrong-codes-c64" wrong-codes 64 "$BIG/load.csv" --users 2000
stop_server

SMALL="$WORK/small"
populate "$SMALL" "$SMALL_USERS" fast load
start_server "$SMALL"
# Period 1 s: ten flows per user cover a 10 s run.
run "mfa-step-c64-1k-users" mfa-step 64 "$SMALL/load.csv" --flows $((SMALL_USERS * 10))
stop_server

python3 "$(dirname "$0")/perf-summary.py" "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
