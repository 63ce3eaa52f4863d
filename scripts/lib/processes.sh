# Bash helpers for test and benchmark scripts that start servers on loopback: source this file.
# Every process started with `track` is stopped by pid on exit (SIGTERM, SIGKILL after 3 s), and
# the scratch directory $SCRATCH is removed.

SCRATCH="$(mktemp -d)"
TRACKED_PIDS=()

# Remembers pid $1 so that the script's exit stops it.
track() {
  TRACKED_PIDS+=("$1")
}

stop_tracked() {
  local pid
  for pid in "${TRACKED_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${TRACKED_PIDS[@]}"; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$SCRATCH"
}
trap stop_tracked EXIT

# Prints a TCP port free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (10 s at most) until something accepts connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# Starts $SESSIOND_BIN (else /work/bin/sessiond) with the memory store on a free port, prefixed by
# the command words in $SESSIOND_WRAPPER if set (e.g. "taskset -c 1"), stderr to $1; sets
# SESSIOND_PID and exports SESSIOND_ADDR.
start_sessiond() {
  local port_file="$SCRATCH/sessiond.port"
  # shellcheck disable=SC2086 # the wrapper is words on purpose
  ${SESSIOND_WRAPPER:-} "${SESSIOND_BIN:-/work/bin/sessiond}" --listen=127.0.0.1:0 --port_file="$port_file" \
    --store=memory --drain_grace=0s 2>"$1" &
  SESSIOND_PID=$!
  track "$SESSIOND_PID"
  for _ in $(seq 100); do [[ -s "$port_file" ]] && break; sleep 0.1; done
  [[ -s "$port_file" ]] || { echo "sessiond did not start; its log:" >&2; cat "$1" >&2; return 1; }
  export SESSIOND_ADDR="127.0.0.1:$(cat "$port_file")"
}
