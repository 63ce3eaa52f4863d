#!/usr/bin/env bash
# Web-request throughput with one WatchSessions watcher attached ÷ without (issue 13's target:
# at least 0.9). Alternates "without" and "with" ROUNDS times (default 3), each on a fresh sessiond
# (memory store) pinned to CPU 1, loadgen's `web` scenario (64 in flight, 8 s) pinned to CPU 0, and
# for "with" the test watcher (build/tests/watch_printer, from scripts/build.sh) attached from
# sequence 1. Prints one line per run and the ratios. Builds sessiond and loadgen into build-bench/.
# Usage: bench/watch_sessions/run.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
BUILD=build-bench
WATCHER=build/tests/watch_printer
[[ -x $WATCHER ]] || { echo "bench/watch_sessions: build $WATCHER first (scripts/build.sh)" >&2; exit 1; }
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSESSIOND_BUILD_TESTS=OFF \
  -DSESSIOND_BUILD_BENCH=ON > /dev/null
ninja -C "$BUILD" -j "${SESSIOND_BUILD_JOBS:-2}" sessiond loadgen
WORK=$(mktemp -d)
server="" watcher=""
trap 'kill $server $watcher 2>/dev/null || true; rm -rf "$WORK"' EXIT
for round in $(seq "$ROUNDS"); do
  for mode in without with; do
    taskset -c 1 "$BUILD/service/sessiond" --listen=127.0.0.1:0 --port_file="$WORK/port" \
      > "$WORK/sessiond.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.05; done
    address=127.0.0.1:$(cat "$WORK/port")
    if [[ $mode == with ]]; then
      "$WATCHER" "$address" 1 > /dev/null 2> "$WORK/watcher.log" &
      watcher=$!
      sleep 0.3
    fi
    taskset -c 0 "$BUILD/bench/loadgen/loadgen" --address="$address" --scenario=web \
      --in_flight=64 --channels=4 --warmup=1s --duration=8s --sessions=10000 --server_pid="$server" \
      --label="$round $mode" | grep '^{' >> "$WORK/runs.jsonl"
    if [[ $mode == with ]]; then
      kill -0 "$watcher" 2>/dev/null ||
        { echo "the watcher ended during the run: $(cat "$WORK/watcher.log")" >&2; exit 1; }
      kill "$watcher"; wait "$watcher" 2>/dev/null || true; watcher=""
    fi
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    rm -f "$WORK/port"
  done
done
python3 - "$WORK/runs.jsonl" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
for r in runs:
    print(f"{r['label']:>12}: {r['run']['ops_per_s']:8.0f} ops/s, server "
          f"{r['run']['server_cpu_us_per_op']:6.1f} µs/request")
pairs = list(zip(runs[0::2], runs[1::2]))
print("with ÷ without, throughput:",
      ", ".join(f"{w['run']['ops_per_s'] / o['run']['ops_per_s']:.2f}" for o, w in pairs))
print("with ÷ without, server µs/request:",
      ", ".join(f"{w['run']['server_cpu_us_per_op'] / o['run']['server_cpu_us_per_op']:.2f}"
                for o, w in pairs))
PY
