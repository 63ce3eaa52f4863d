#!/usr/bin/env bash
# ListSessions against the store's size (issue 13: 10 sessions of a principal among 1 M and among
# 10 M sessions, same latency). Builds list_sessions_bench into build-bench/, then, for the memory
# store and RocksDB, loads each size in a fresh store and times 200,000 ListSessions of a random
# principal; prints each run's JSON line and a table of the large store's latency as a ratio of the
# small one's. Usage: bench/list_sessions/run.sh [SMALL LARGE] (default 1000000 10000000). About
# 8 minutes and 7 GiB of memory at the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
SMALL=${1:-1000000}
LARGE=${2:-10000000}
BUILD=build-bench
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSESSIOND_BUILD_TESTS=OFF \
  -DSESSIOND_BUILD_BENCH=ON > /dev/null
ninja -C "$BUILD" -j "${SESSIOND_BUILD_JOBS:-2}" list_sessions_bench
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
RESULTS=$BUILD/bench-results/list_sessions.jsonl
mkdir -p "$(dirname "$RESULTS")"
: > "$RESULTS"
for store in memory rocksdb; do
  for sessions in "$SMALL" "$LARGE"; do
    rm -rf "${DATA:?}"/db
    "$BUILD/bench/list_sessions/list_sessions_bench" --store="$store" --data_dir="$DATA/db" \
      --durability=async --sessions="$sessions" --lists=200000 --label="$store-$sessions" |
      tee -a "$RESULTS"
  done
done
python3 - "$RESULTS" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
print("\n| store | sessions | p50 µs | p99 µs | mean µs | large ÷ small (p50, p99, mean) |")
print("|---|---|---|---|---|---|")
for store in ("memory", "rocksdb"):
    small, large = [r for r in runs if r["store"] == store]
    for run in (small, large):
        ratio = "" if run is small else ", ".join(
            f"{run[k] / small[k]:.2f}" for k in ("p50_us", "p99_us", "mean_us"))
        print(f"| {store} | {run['sessions']:,} | {run['p50_us']:.1f} | {run['p99_us']:.1f} "
              f"| {run['mean_us']:.1f} | {ratio} |")
PY
