#!/usr/bin/env bash
# `mfa-step` (the code-check hot path) of two revisions in one run, on the same machine
# and the same population: release builds of BEFORE and AFTER (git revisions; AFTER
# defaults to HEAD) in worktrees, one 100,000-user population imported by each, then
# ROUNDS alternating rounds of c16 and c64 with the server pinned to core 0 and the load
# tool to core 1. Writes one JSON report per run and compare.md to $OUT.
#
# Each request uses up one sign-in flow, and each flow costs a password check up front:
# since imported hashes are upgraded to Argon2id at the first sign-in, that is some 25 ms
# of the server's core per flow. So a run prepares FLOWS flows (not measured) and is
# measured until they are used up, a second or two at these rates.
#
#   scripts/perf-compare.sh ecfecfd            # about 12 minutes after the builds
#   ROUNDS=2 FLOWS=10000 scripts/perf-compare.sh ecfecfd HEAD
#   PERF_RECORD=4999 scripts/perf-compare.sh ecfecfd   # also `perf record -g` the server
#                                                       # at 4999 Hz through each measured phase
#   CHEAP_HASH=1 FLOWS=60000 ROUNDS=3 scripts/perf-compare.sh ecfecfd
#       # an experiment: both revisions built with a cheap Argon2id (m=64 KiB, t=1) for
#       # passwords, so preparing a flow is quick and a run can check many more codes.
#       # Never for anything but this measurement; the code check never hashes a password.
#
# Only loopback addresses are used; every run is bounded by DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-for-load.sh
. scripts/serve-for-load.sh

BEFORE="${1:?usage: perf-compare.sh BEFORE [AFTER]}"
AFTER="${2:-HEAD}"
OUT="${OUT:-$PWD/target/perf-compare}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-1}"
FLOWS="${FLOWS:-6000}"
BIG_USERS="${BIG_USERS:-100000}"
SERVER_CORE="${SERVER_CORE:-0}"
LOAD_CORE="${LOAD_CORE:-1}"
PORT="${PORT:-18090}"
TREES="${TREES:-/var/tmp/twofold-compare}"

command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
mkdir -p "$OUT" "$TREES"
rm -f "$OUT"/*.json

# build LABEL REV → the binaries of REV in $TREES/LABEL-bin
build() {
  local label="$1" rev="$2" tree="$TREES/$1"
  git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
  git worktree add --force --detach "$tree" "$rev" >/dev/null
  if [ -n "${CHEAP_HASH:-}" ]; then
    grep -rl --include=password.rs 'Params::new(19_456, 2, 1, None)' "$tree" \
      | xargs -r sed -i 's/Params::new(19_456, 2, 1, None)/Params::new(64, 1, 1, None)/'
    grep -rq --include=password.rs 'Params::new(64, 1, 1, None)' "$tree" \
      || { echo "CHEAP_HASH: no password parameters to patch in $rev" >&2; exit 1; }
  fi
  # One target directory for both: the dependencies they share are built once, and each
  # revision's binaries are copied out before the next build replaces them.
  (cd "$tree" && CARGO_TARGET_DIR="$TREES/target" cargo build --release -q -p twofold-cli -p twofold-load)
  mkdir -p "$TREES/$label-bin"
  cp "$TREES/target/release/twofold" "$TREES/target/release/twofold-load" "$TREES/$label-bin/"
  git -C "$tree" rev-parse --short HEAD > "$TREES/$label-bin/rev"
}
build before "$BEFORE"
build after "$AFTER"
LOAD="$TREES/after-bin/twofold-load"

scratch_until_exit

{
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
  echo "- $(rustc --version); before: $(cat "$TREES/before-bin/rev"), after: $(cat "$TREES/after-bin/rev")"
  echo "- run at $(date -u +%Y-%m-%dT%H:%MZ), $ROUNDS round(s), $FLOWS flows per run, $BIG_USERS users"
  [ -z "${CHEAP_HASH:-}" ] || echo "- CHEAP_HASH: both built with Argon2id m=64 KiB, t=1 for passwords"
} > "$OUT/machine.md"

# One population (period 1 s: see scripts/perf.sh), imported by each binary.
"$LOAD" prepare --users "$BIG_USERS" --prefix load --period 1 --password-cost fast \
  --out "$WORK/load.csv" >/dev/null
for label in before after; do
  dir="$WORK/$label"
  mkdir -p "$dir"
  "$TREES/$label-bin/twofold" --data-dir "$dir" org create load >/dev/null
  "$TREES/$label-bin/twofold" --data-dir "$dir" user import --org load "$WORK/load.csv" >/dev/null
done

start_server() { # label → sets SERVER_PID
  serve_for_load "$OUT/server-$1.log" "$PORT" \
    taskset -c "$SERVER_CORE" "$TREES/$1-bin/twofold" --data-dir "$WORK/$1"
}

for round in $(seq 1 "$ROUNDS"); do
  for label in before after; do
    start_server "$label"
    for c in 16 64; do
      echo "== round $round, $label, c$c"
      during=()
      if [ -n "${PERF_RECORD:-}" ]; then
        # The measured phase only (the flows' password steps are left out): `perf report
        # -i <file> --no-children` shows where the server's time went.
        during=(--during "perf record -q -g -F $PERF_RECORD -p $SERVER_PID -o $OUT/$label-c$c-r$round.perf")
      fi
      taskset -c "$LOAD_CORE" "$LOAD" run mfa-step --url "http://127.0.0.1:$PORT" --org load \
        --users-file "$WORK/load.csv" --concurrency "$c" --duration "$DURATION" --flows "$FLOWS" \
        --server-pid "$SERVER_PID" "${during[@]}" --json > "$OUT/$label-c$c-r$round.json"
    done
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  done
done

python3 - "$OUT" > "$OUT/compare.md" <<'EOF'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
print((out / "machine.md").read_text())
print("| run | revision | requests/s (median of rounds) | each round | p50 ms | p99 ms | server CPU µs/request |")
print("|---|---|---:|---|---:|---:|---:|")
for c in (16, 64):
    for label in ("before", "after"):
        rs = [json.loads(p.read_text()) for p in sorted(out.glob(f"{label}-c{c}-r*.json"))]
        cls = [r["classes"]["mfa_step"] for r in rs]
        rps = [k["requests_per_sec"] for k in cls]
        med = lambda xs: statistics.median(xs)
        print(f"| mfa-step, c{c} | {label} | {med(rps):,.0f} | {', '.join(f'{x:,.0f}' for x in rps)} "
              f"| {med([k['latency']['p50_us'] for k in cls]) / 1000:.2f} "
              f"| {med([k['latency']['p99_us'] for k in cls]) / 1000:.2f} "
              f"| {med([(r.get('server') or {}).get('cpu_us_per_request', 0) for r in rs]):.0f} |")
EOF
cat "$OUT/compare.md"
