# Sourced by the perf scripts: starts `twofold serve` the way the load tool needs it.
#
# serve_for_load LOG PORT COMMAND…: runs `COMMAND… serve --listen 127.0.0.1:PORT` in the
# background (COMMAND is the binary with its options, with `taskset` in front to pin it),
# sets SERVER_PID, adds it to PIDS (stopped at exit, see scratch_until_exit) and returns
# once /healthz answers (within STARTUP_TRIES tenths of a second, 10 s by default).
serve_for_load() {
  local log="$1" port="$2"; shift 2
  # The load tool is one address sending thousands of wrong codes and password sign-ins
  # a second: the per-address failure limit and the hashing queue's bound, which exist to
  # stop exactly that, are lifted so the runs measure the rest of the server.
  TWOFOLD_IP_FAILURE_BURST=1000000 TWOFOLD_IP_FAILURES_PER_MINUTE=1000000 \
  TWOFOLD_PASSWORD_HASH_QUEUE=1000000 TWOFOLD_MAX_CONNECTIONS=4096 \
    "$@" serve --listen "127.0.0.1:$port" 2> "$log" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 1 "${STARTUP_TRIES:-100}"); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server on port $port did not start (see $log)" >&2
  exit 1
}

# scratch_until_exit: sets WORK to a fresh temporary directory and PIDS to none; at exit,
# every process in PIDS (the servers serve_for_load started, and any the caller adds) is
# stopped and WORK removed.
scratch_until_exit() {
  WORK="$(mktemp -d)"
  SERVER_PID=""
  PIDS=()
  trap 'for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$WORK"' EXIT
}
