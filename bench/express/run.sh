#!/usr/bin/env bash
# Requests/s and CPU per request of a minimal Express app on sessiond (express-session +
# SessiondStore, and sessiond's own middleware) vs express-session + connect-redis over a local
# redis-server, at the same concurrency, in two mixes: "write" (every request reads the session and
# writes one key; sessiond with the glue's default near cache) and "read-mostly" (80 % only read,
# 20 % read and write one key; sessiond with its near cache on and off side by side). Starts and
# stops every server itself on 127.0.0.1 (the app pinned to CPU 0; the session server and
# autocannon to CPU 1), prints a markdown table; JSON lines go to results.jsonl here.
#
#   bench/express/run.sh      CONNECTIONS=32 DURATION=15 (seconds) WARMUP=3 by default
#
# Needs $SESSIOND_BIN (else /work/bin/sessiond); installs redis-server and the npm packages if missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export CONNECTIONS="${CONNECTIONS:-32}" DURATION="${DURATION:-15}" WARMUP="${WARMUP:-3}" CLK_TCK="$(getconf CLK_TCK)"

if ! command -v redis-server >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
npm ci --no-fund --no-audit --loglevel=error

source ../../scripts/lib/processes.sh
SESSIOND_WRAPPER="taskset -c 1" start_sessiond "$SCRATCH/sessiond.log"
sessiond_pid=$SESSIOND_PID

redis_port="$(free_port)"
taskset -c 1 redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$SCRATCH" \
  >"$SCRATCH/redis.log" 2>&1 &
redis_pid=$!
track "$redis_pid"
wait_port "$redis_port"
export REDIS_URL="redis://127.0.0.1:$redis_port"

: >results.jsonl
# backend mix near-cache
variants=(
  "store write on" "middleware write on" "redis write -"
  "store read-mostly on" "store read-mostly off" "middleware read-mostly on" "middleware read-mostly off"
  "redis read-mostly -"
)
for variant in "${variants[@]}"; do
  read -r backend mix cache <<<"$variant"
  port="$(free_port)"
  BACKEND="$backend" NEAR_CACHE="$cache" PORT="$port" taskset -c 0 node app.mjs >"$SCRATCH/app-$backend-$mix-$cache.log" 2>&1 &
  app_pid=$!
  track "$app_pid"
  wait_port "$port"
  server_pid=$([[ $backend == redis ]] && echo "$redis_pid" || echo "$sessiond_pid")
  NAME="$backend" MIX="$mix" NEAR_CACHE="$cache" URL="http://127.0.0.1:$port" APP_PID="$app_pid" \
    SERVER_PID="$server_pid" taskset -c 1 node bench.mjs | tee -a results.jsonl
  kill "$app_pid"
  wait "$app_pid" 2>/dev/null || true
done

node -e '
const rows = require("fs").readFileSync("results.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const label = { store: "express-session + SessiondStore → sessiond", middleware: "sessiond middleware → sessiond", redis: "express-session + connect-redis → redis-server" };
console.log(`\n${rows[0].connections} connections, ${rows[0].seconds} s per variant; write: every request reads the session and writes one key; read-mostly: 80 % only read, 20 % read and write one key\n`);
console.log("| variant | mix | near cache | requests/s | p50 ms | p99 ms | non-2xx | web tier CPU µs/request | session server CPU µs/request |");
console.log("|---|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${label[r.name]} | ${r.mix} | ${r.nearCache} | ${r.requestsPerSecond} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.non2xx + r.errors} | ${r.webCpuUsPerRequest} | ${r.serverCpuUsPerRequest} |`);
'
