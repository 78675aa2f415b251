#!/usr/bin/env bash
# The admin console's Users table with 100,000 users in one organisation, timed over HTTP
# as a browser asks for it: the first page, a page deep in the list, and searches. Each
# URL is fetched ROUNDS times after one warm-up; the median and the slowest are printed in
# milliseconds. Uses a release build and a fresh data directory (SQLite).
#
#   scripts/console-users.sh            # 100,000 users, 20 rounds
#   USERS=10000 ROUNDS=5 scripts/console-users.sh
set -euo pipefail

USERS=${USERS:-100000}
ROUNDS=${ROUNDS:-20}
PORT=${PORT:-18099}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p twofold-cli
BIN="$TARGET/release/twofold"

WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
"$BIN" serve --listen "127.0.0.1:$PORT" >server.log 2>&1 &
SERVER=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
  sleep 0.1
done

"$BIN" org create acme --name "Acme" >/dev/null
printf '%s\n' 'correct horse battery staple' | "$BIN" user create --org acme --username admin \
  --email admin@example.com --role owner --password-stdin >/dev/null
python3 - "$USERS" >users.csv <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"user{i:06d},user{i:06d}@example.com,member,,")
PY
start=$(date +%s.%N)
"$BIN" user import --org acme users.csv >/dev/null
echo "imported $USERS users in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"

TOKEN=$(curl -s "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"org":"acme","username":"admin","password":"correct horse battery staple"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["session_token"])')

time_url() {
  local name=$1 path=$2
  curl -s -o /dev/null -H "cookie: twofold-session=$TOKEN" "http://127.0.0.1:$PORT$path"
  for _ in $(seq "$ROUNDS"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "cookie: twofold-session=$TOKEN" \
      "http://127.0.0.1:$PORT$path"
  done | python3 -c '
import statistics, sys
t = sorted(float(x) * 1000 for x in sys.stdin)
print(f"%-34s median %6.1f ms   slowest %6.1f ms" % (sys.argv[1], statistics.median(t), t[-1]))' "$name"
}

echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
time_url "first page" "/orgs/acme/users"
time_url "a page deep in the list" "/orgs/acme/users?after=user050000"
time_url "search, one match" "/orgs/acme/users?q=user042424"
time_url "search, every user matches" "/orgs/acme/users?q=example"
time_url "search, no match" "/orgs/acme/users?q=nobody"
