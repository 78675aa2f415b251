#!/usr/bin/env bash
# `mfa-step` on PostgreSQL, one server and then two sharing the database: how the code
# check grows from one server to two. Release builds, a 100,000-user population imported
# once, each server with the same secret key; the second run spreads sign-ins and second
# steps over both servers in turn (`twofold-load run --also-url`), so a flow begun on one
# server is finished on the other half of the time. Writes one JSON report per run and
# summary.md to $OUT.
#
#   scripts/perf-postgres.sh                  # about 10 minutes on 2 cores
#   FLOWS=2000 BIG_USERS=20000 scripts/perf-postgres.sh
#
# Nothing is pinned: the servers, PostgreSQL and the load tool share the machine's cores,
# so the figures say what this machine does, and the CPU columns say where it went.
# Only loopback addresses are used; the database $DB on $PG is dropped and made afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-for-load.sh
. scripts/serve-for-load.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/twofold-perf-target}"
OUT="${OUT:-$PWD/target/perf-postgres}"
DURATION="${DURATION:-10s}"
BIG_USERS="${BIG_USERS:-100000}"
# Each flow is a password sign-in up front (Argon2id at the server's cost once the
# imported hash is upgraded), so flows are few and a run lasts until they are used up.
FLOWS="${FLOWS:-6000}"
CONCURRENCY="${CONCURRENCY:-64}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
DB="${DB:-twofold_perf}"
PORT_A="${PORT_A:-18082}"
PORT_B="${PORT_B:-18083}"

command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
cargo build --release -q -p twofold-cli -p twofold-load
TWOFOLD="$CARGO_TARGET_DIR/release/twofold"
LOAD="$CARGO_TARGET_DIR/release/twofold-load"

mkdir -p "$OUT"
rm -f "$OUT"/*.json
scratch_until_exit

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export TWOFOLD_DATABASE_URL="$PG/$DB"
TWOFOLD_SECRET_KEY="$("$TWOFOLD" secret-key generate)"
export TWOFOLD_SECRET_KEY

{
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
  echo "- $(psql -tA "$PG/postgres" -c 'SHOW server_version') PostgreSQL on the same machine"
  echo "- $(rustc --version); $(git rev-parse --short HEAD)"
  echo "- run at $(date -u +%Y-%m-%dT%H:%MZ), $FLOWS flows per run, $BIG_USERS users, c$CONCURRENCY"
} > "$OUT/machine.md"

"$TWOFOLD" --data-dir "$WORK/a" org create load >/dev/null
"$LOAD" prepare --users "$BIG_USERS" --prefix load --period 1 --password-cost fast \
  --out "$WORK/load.csv" >/dev/null
"$TWOFOLD" --data-dir "$WORK/a" user import --org load "$WORK/load.csv" >/dev/null

start_server() { # name port → appends to PIDS
  serve_for_load "$OUT/server-$1.log" "$2" "$TWOFOLD" --data-dir "$WORK/$1"
}

# run NAME SKIP [--also-url URL]: each run takes users of its own (--skip), so no user's
# step is still taken from the run before.
run() {
  local name="$1" skip="$2"; shift 2
  echo "== $name"
  "$LOAD" run mfa-step --url "http://127.0.0.1:$PORT_A" --org load \
    --users-file "$WORK/load.csv" --skip "$skip" --users "$FLOWS" --flows "$FLOWS" \
    --concurrency "$CONCURRENCY" --duration "$DURATION" --server-pid "${PIDS[0]}" \
    --json "$@" > "$OUT/$name.json"
}

start_server a "$PORT_A"
run one-server 0
start_server b "$PORT_B"
run two-servers "$FLOWS" --also-url "http://127.0.0.1:$PORT_B"

python3 - "$OUT" > "$OUT/summary.md" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print((out / "machine.md").read_text())
print("| run | codes/s | p50 ms | p99 ms | server A CPU µs/request | answers |")
print("|---|---:|---:|---:|---:|---|")
rates = {}
for name in ("one-server", "two-servers"):
    r = json.loads((out / f"{name}.json").read_text())
    c = r["classes"]["mfa_step"]
    rates[name] = c["successes_per_sec"]
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(c["answers"].items()))
    print(f"| {name} | {c['successes_per_sec']:,.0f} | {c['latency']['p50_us'] / 1000:.2f} "
          f"| {c['latency']['p99_us'] / 1000:.2f} "
          f"| {(r.get('server') or {}).get('cpu_us_per_request', 0):.0f} | {answers} |")
print(f"\nTwo servers / one server: {rates['two-servers'] / rates['one-server']:.2f}×")
PY
cat "$OUT/summary.md"
