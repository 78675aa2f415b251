#!/usr/bin/env bash
# Instructions per code check, by thread: `mfa-step` against a server running under
# valgrind's callgrind, counting only through the measured phase (instrumentation is
# switched on and off by scripts/callgrind-phase.py through `twofold-load run --during`).
# Instruction counts do not move with the virtual CPU's speed, which changes wall-clock
# figures on this project's VMs by ±20 % between runs, so two revisions can be compared
# to a few per cent. Kernel work (WAL writes, fsync, sockets) is not counted: compare
# these with `perf-compare.sh` for the whole picture. Writes summary.md to $OUT.
#
#   scripts/perf-instructions.sh                 # about 5 minutes
#   FLOWS=200 USERS=5000 scripts/perf-instructions.sh
#   BIN=/path/to/other/release scripts/perf-instructions.sh   # another build's binaries
#
# Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/serve-for-load.sh
. scripts/serve-for-load.sh

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/twofold-perf-target}"
OUT="${OUT:-$PWD/target/perf-instructions}"
USERS="${USERS:-20000}"
# Each flow costs a password sign-in up front, under valgrind too (slowly): few flows.
FLOWS="${FLOWS:-500}"
CONCURRENCY="${CONCURRENCY:-64}"
PORT="${PORT:-18084}"

for tool in valgrind callgrind_control; do
  command -v "$tool" >/dev/null || { echo "$tool is required (Debian: valgrind)" >&2; exit 1; }
done
# BIN=DIR measures the twofold and twofold-load binaries in DIR (another revision's,
# say) instead of building this tree.
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p twofold-cli -p twofold-load
  BIN="$CARGO_TARGET_DIR/release"
  WHAT="revision $(git rev-parse --short HEAD)"
else
  WHAT="the binaries in $BIN"
fi
TWOFOLD="$BIN/twofold"
LOAD="$BIN/twofold-load"

mkdir -p "$OUT"
rm -f "$OUT"/callgrind.out* "$OUT"/*.json
scratch_until_exit

"$LOAD" prepare --users "$USERS" --prefix load --period 1 --password-cost fast \
  --out "$WORK/load.csv" >/dev/null
"$TWOFOLD" --data-dir "$WORK/data" org create load >/dev/null
"$TWOFOLD" --data-dir "$WORK/data" user import --org load "$WORK/load.csv" >/dev/null

# Under valgrind the server starts in seconds, not milliseconds.
STARTUP_TRIES=600 serve_for_load "$OUT/server.log" "$PORT" \
  valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
  --callgrind-out-file="$OUT/callgrind.out" "$TWOFOLD" --data-dir "$WORK/data"
"$LOAD" run mfa-step --url "http://127.0.0.1:$PORT" --org load --users-file "$WORK/load.csv" \
  --concurrency "$CONCURRENCY" --flows "$FLOWS" --duration 10m --timeout 120s \
  --during "python3 scripts/callgrind-phase.py $SERVER_PID" --json > "$OUT/mfa-step.json"

python3 - "$OUT" "$WHAT" > "$OUT/summary.md" <<'PY'
import json, pathlib, re, sys
out, rev = pathlib.Path(sys.argv[1]), sys.argv[2]
report = json.loads((out / "mfa-step.json").read_text())
checks = report["classes"]["mfa_step"]["successes"]
# The phase's dump is the one written last: callgrind.out.<part>-<thread>.
files = list(out.glob("callgrind.out.*-*"))
last = max(int(re.search(r"\.(\d+)-\d+$", p.name).group(1)) for p in files)
threads = {}
for p in files:
    if not p.name.startswith(f"callgrind.out.{last}-"):
        continue
    text = p.read_text(errors="replace")
    total = int(re.search(r"^totals: (\d+)", text, re.M).group(1))
    if total == 0:
        continue
    # By a function only that thread runs (a tokio worker also calls into the log
    # writer's queue, and the SQLite writer into tokio's wakers).
    name = ("SQLite writer" if "run_writer" in text else
            "checkpointer" if "run_checkpointer" in text else
            "tokio worker" if "tokio::runtime::scheduler" in text else
            "log writer" if "log_writer" in text else "other")
    threads[name] = threads.get(name, 0) + total
print(f"- {rev}: {checks} code checks measured\n")
print("| thread | instructions per check |")
print("|---|---:|")
for name, total in sorted(threads.items(), key=lambda t: -t[1]):
    print(f"| {name} | {total / checks:,.0f} |")
print(f"| all | {sum(threads.values()) / checks:,.0f} |")
PY
cat "$OUT/summary.md"
