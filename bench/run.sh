#!/usr/bin/env bash
# Benchmarks sessiond against an empty gRPC echo server and Redis 7 on this machine, in one run,
# with sessiond on its memory, Redis, PostgreSQL and RocksDB backends,
# and prints a markdown table of every figure, every ratio and targets P1-P6 (docs/PERFORMANCE.md
# says how to read it). Builds what it needs into build-bench/, starts and stops every server itself
# on 127.0.0.1, servers pinned to CPU 1 and load generators to CPU 0.
#
#   bench/run.sh           full run: 20 s windows, 10 k vs 1 M and 10 M sessions (about 12 min)
#   bench/run.sh --quick   5 s windows, 10 k vs 1 M sessions (under 3 min once built)
#
# Records, logs and the table go to build-bench/bench-results/. Needs 2 CPUs; installs its packages
# (redis-server, redis-tools, libhiredis-dev, postgresql-15; ghz with Go) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=full
case "${1:-}" in
  --quick) MODE=quick ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac
if [[ $MODE == quick ]]; then
  WARMUP=1s DURATION=5s SCALES=(1000000) REDIS_BENCH_REQUESTS=200000
else
  WARMUP=5s DURATION=20s SCALES=(1000000 10000000) REDIS_BENCH_REQUESTS=2000000
fi
IN_FLIGHT=64 CHANNELS=4 SESSIONS=10000 CLIENT_CPU=0 SERVER_CPU=1 PAIRED_ROUNDS=3
GHZ_VERSION=v0.93.0
BUILD=$ROOT/build-bench
OUT=$BUILD/bench-results
RESULTS=$OUT/results.jsonl

if [[ $(nproc) -lt 2 ]]; then
  echo "bench/run.sh: needs 2 CPUs (servers on CPU $SERVER_CPU, generators on CPU $CLIENT_CPU)" >&2
  exit 1
fi

# --- dependencies and build ------------------------------------------------------------------
scripts/install-deps.sh
missing=()
for package in redis-server redis-tools libhiredis-dev postgresql-15; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "bench/run.sh: installing ${missing[*]}"
  as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi
export PATH="$PATH:/usr/local/go/bin"
GHZ="$(go env GOPATH)/bin/ghz"
[[ -x $GHZ ]] || go install "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSESSIOND_BUILD_TESTS=OFF \
  -DSESSIOND_BUILD_BENCH=ON > /dev/null
ninja -C "$BUILD" -j "${SESSIOND_BUILD_JOBS:-2}" sessiond loadgen echo_server
SESSIOND=$BUILD/service/sessiond
LOADGEN=$BUILD/bench/loadgen/loadgen
ECHO_SERVER=$BUILD/bench/echo/echo_server

# --- process management: everything started here is stopped on exit ---------------------------
WORK=$(mktemp -d)
declare -A STARTED=()  # pids of the servers running now
stop() {  # stop PID: SIGTERM, then SIGKILL after 10 s
  local pid=$1
  unset "STARTED[$pid]"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${!STARTED[@]}"; do stop "$pid"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" > /dev/null 2>&1; do
    if [[ $SECONDS -ge $deadline ]]; then echo "bench/run.sh: timed out: $*" >&2; exit 1; fi
    sleep 0.1
  done
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Each start_* sets PID and PORT.
start_sessiond() {  # start_sessiond NAME [sessiond flags...]
  local name=$1
  shift
  taskset -c $SERVER_CPU "$SESSIOND" --listen=127.0.0.1:0 --port_file="$WORK/$name.port" \
    --drain_grace=0s --shutdown_timeout=2s "$@" 2> "$OUT/$name.log" &
  PID=$!
  STARTED[$PID]=1
  wait_for 60 test -s "$WORK/$name.port"
  PORT=$(cat "$WORK/$name.port")
}
start_echo() {
  taskset -c $SERVER_CPU "$ECHO_SERVER" --port_file="$WORK/echo.port" 2> "$OUT/echo.log" &
  PID=$!
  STARTED[$PID]=1
  wait_for 10 test -s "$WORK/echo.port"
  PORT=$(cat "$WORK/echo.port")
}
start_redis() {  # start_redis NAME: Redis 7 with persistence off
  PORT=$(free_port)
  taskset -c $SERVER_CPU redis-server --bind 127.0.0.1 --port "$PORT" --save '' \
    --appendonly no --dir "$WORK" --logfile "$OUT/$1.log" &
  PID=$!
  STARTED[$PID]=1
  wait_for 10 redis-cli -h 127.0.0.1 -p "$PORT" ping
}
PG_BIN=/usr/lib/postgresql/15/bin
start_postgres() {  # start_postgres NAME: PostgreSQL 15 on disk, fsync and synchronous_commit on
  local dir=$BUILD/bench-postgres-$1 as=()
  rm -rf "$dir"
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then  # initdb and postgres refuse root
    chown nobody: "$dir"
    as=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
  fi
  "${as[@]}" "$PG_BIN/initdb" -D "$dir/data" -U sessiond --auth=trust -E UTF8 --locale=C \
    > "$OUT/$1-initdb.log"
  PORT=$(free_port)
  taskset -c $SERVER_CPU "${as[@]}" "$PG_BIN/postgres" -D "$dir/data" -p "$PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" 2> "$OUT/$1.log" &
  PID=$!
  STARTED[$PID]=1
  wait_for 30 "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PORT"
}

# loadgen LABEL SECONDS_ALLOWED [loadgen flags...]: one run against the server PID/PORT; its JSON
# record goes to $RESULTS, its human line to the terminal.
loadgen() {
  local label=$1 allowed=$2
  shift 2
  timeout "$allowed" taskset -c $CLIENT_CPU "$LOADGEN" --label="$label" \
    --address="127.0.0.1:$PORT" --server_pid="$PID" --in_flight=$IN_FLIGHT \
    --channels=$CHANNELS --warmup=$WARMUP --duration=$DURATION --sessions=$SESSIONS "$@" \
    >> "$RESULTS"
}
field() { python3 bench/report.py field "$RESULTS" "$@"; }
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
# Generous bounds for a run: loading at >= 5 k sessions/s, plus the windows, plus a minute.
allowed() { echo $(( ${1:-$SESSIONS} / 5000 + ${WARMUP%s} + ${DURATION%s} + 60 )); }

rm -rf "$OUT"
mkdir -p "$OUT"
NOTES=()
echo "bench/run.sh: $MODE run; servers on CPU $SERVER_CPU, generators on CPU $CLIENT_CPU"

# --- sessiond, memory store: the scenarios; web first, so it runs with exactly 10 k sessions ---
start_sessiond sessiond
for scenario in web get commit touch churn; do
  loadgen "sessiond-$scenario" "$(allowed)" --scenario=$scenario
done
# Automatic batching: web through the C++ client as one threaded web-tier process uses it (a
# thread per request, one client on one connection), with its batching on, then off.
CLIENT_WEB=(--scenario=web --target=client --channels=1)
loadgen sessiond-web-batched "$(allowed)" "${CLIENT_WEB[@]}"
loadgen sessiond-web-client "$(allowed)" "${CLIENT_WEB[@]}" --batching=false
# Near cache (issue 14, part 2): the read-mostly mix (80 % of requests only read, 20 % also
# commit) through the same client, batching on, without a near cache, then with 64 MiB of one.
CLIENT_READ_MOSTLY=(--scenario=web-read-mostly --target=client --channels=1)
NEAR_CACHE=(--near_cache_bytes=$((64 << 20)))
loadgen sessiond-web-read-mostly "$(allowed)" "${CLIENT_READ_MOSTLY[@]}"
loadgen sessiond-web-read-mostly-cached "$(allowed)" "${CLIENT_READ_MOSTLY[@]}" "${NEAR_CACHE[@]}"
half_rate=$(python3 -c "print(round($(field sessiond-web run.ops_per_s) / 2))")
loadgen sessiond-web-open "$(allowed)" --scenario=web --rate="$half_rate"

# ghz cross-check: Get over the same sessions, same concurrency; server CPU read around it.
loadgen ghz-sessions "$(allowed)" --scenario=load --ids_file="$WORK/ids.json"
protoc -Iproto --include_imports --descriptor_set_out="$WORK/session.protoset" \
  proto/sessiond/v1/session.proto
cpu_before=$(cpu_seconds "$PID")
timeout "$(allowed)" taskset -c $CLIENT_CPU "$GHZ" --insecure --protoset "$WORK/session.protoset" \
  --call sessiond.v1.SessionService.Get --data-file "$WORK/ids.json" -c $IN_FLIGHT \
  --connections $CHANNELS -z "$DURATION" --duration-stop=ignore --cpus 1 -O json \
  "127.0.0.1:$PORT" > "$OUT/ghz.json"
cpu_used=$(python3 -c "print($(cpu_seconds "$PID") - $cpu_before)")
python3 bench/report.py ghz "$OUT/ghz.json" ghz-get "$cpu_used" >> "$RESULTS"
stop "$PID"

# --- the empty-rpc ceiling ---------------------------------------------------------------------
start_echo
loadgen echo "$(allowed)" --scenario=echo
stop "$PID"

# --- Redis: the same work, then redis-benchmark for reference, then memory ---------------------
start_redis redis
loadgen redis-web "$(allowed)" --target=redis --scenario=web
loadgen redis-get "$(allowed)" --target=redis --scenario=get
# Redis pipelined: the 64 requests share 4 connections, several in flight on each (as a pooled or
# auto-pipelining client does), against sessiond's batching.
loadgen redis-web-pipelined "$(allowed)" --target=redis --scenario=web --redis_connections=4
# The read-mostly mix (a read is HGETALL + PEXPIRE in one round trip), unpipelined and pipelined.
loadgen redis-web-read-mostly "$(allowed)" --target=redis --scenario=web-read-mostly
loadgen redis-web-read-mostly-pipelined "$(allowed)" --target=redis --scenario=web-read-mostly \
  --redis_connections=4
timeout 300 taskset -c $CLIENT_CPU redis-benchmark -h 127.0.0.1 -p "$PORT" -t get,set -d 1024 \
  -c 50 -n $REDIS_BENCH_REQUESTS --csv > "$OUT/redis-benchmark.csv"
python3 bench/report.py redis-benchmark "$OUT/redis-benchmark.csv" redis-benchmark >> "$RESULTS"
stop "$PID"
start_redis redis-memory
loadgen redis-memory "$(allowed 1000000)" --target=redis --scenario=load --sessions=1000000
stop "$PID"

# --- the CPU ratios again, paired: sessiond and Redis side by side, their runs alternating -------
# A VM's speed drifts within minutes, and the runs above are minutes apart. The targets that
# compare CPU per request with Redis's (P1, B1, N1) are each taken as the median, over rounds, of
# a ratio of two runs made back to back; both servers stay up, only one is loaded at a time.
start_sessiond paired-sessiond
SESSIOND_PID=$PID SESSIOND_PORT=$PORT
start_redis paired-redis
REDIS_PID=$PID REDIS_PORT=$PORT
on_sessiond() { PID=$SESSIOND_PID PORT=$SESSIOND_PORT loadgen "$@"; }
on_redis() { PID=$REDIS_PID PORT=$REDIS_PORT loadgen "$@"; }
for round in $(seq "$PAIRED_ROUNDS"); do
  on_sessiond "paired-$round-sessiond-web" "$(allowed)" --scenario=web
  on_redis "paired-$round-redis-web" "$(allowed)" --target=redis --scenario=web
  on_sessiond "paired-$round-sessiond-web-batched" "$(allowed)" "${CLIENT_WEB[@]}"
  on_sessiond "paired-$round-sessiond-web-read-mostly-cached" "$(allowed)" \
    "${CLIENT_READ_MOSTLY[@]}" "${NEAR_CACHE[@]}"
  on_redis "paired-$round-redis-web-read-mostly" "$(allowed)" --target=redis \
    --scenario=web-read-mostly
done
stop "$REDIS_PID"
stop "$SESSIOND_PID"

# --- memory and scale: web on a fresh sessiond holding 1 M (and, in full mode, 10 M) sessions ---
mem_total=$(( $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) * 1024 ))
for sessions in "${SCALES[@]}"; do
  if [[ $sessions -gt 1000000 ]]; then
    # Use at most 85% of the free memory: what 1 M sessions took with a 15% margin, plus 40 B per
    # session in the generator (its id and version).
    per_session=$(field sessiond-web-1000000 load.server_rss_bytes_per_op)
    available=$(( $(awk '/^MemAvailable/ { print $2 }' /proc/meminfo) * 1024 ))
    fits=$(python3 -c "print(int($available * 0.85 / ($per_session * 1.15 + 40)) // 10**6 * 10**6)")
    if [[ $fits -lt $sessions ]]; then
      NOTES+=("Scale run reduced from $sessions to $fits sessions to fit in memory.")
      sessions=$fits
    fi
  fi
  start_sessiond "sessiond-$sessions" --max_memory_bytes=$((mem_total * 9 / 10))
  loadgen "sessiond-web-$sessions" "$(allowed "$sessions")" --scenario=web --sessions="$sessions"
  stop "$PID"
done

store_help=$("$SESSIOND" --helpfull 2>&1 | sed -n '/^ *--store (/,/default:/p' || true)

# --- sessiond on the Redis backend, the scale-out engine: one replica, then two ---------------
# sessiond and its Redis share CPU 1: the server side of a request is both of them.
if grep -q redis <<< "$store_help"; then
  start_redis redis-backend
  REDIS_PID=$PID REDIS_PORT=$PORT
  used_memory() {
    redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'
  }
  start_sessiond sessiond-redis --store=redis --redis_addrs="127.0.0.1:$REDIS_PORT"
  FIRST_PID=$PID FIRST_PORT=$PORT
  loadgen sessiond-redis-web "$(allowed)" --scenario=web --backend_pid="$REDIS_PID"
  loadgen sessiond-redis-commit "$(allowed)" --scenario=commit --backend_pid="$REDIS_PID"
  before=$(used_memory)
  loadgen sessiond-redis-load "$(allowed 100000)" --scenario=load --sessions=100000
  NOTES+=("sessiond on Redis: $(( ($(used_memory) - before) / 100000 )) B of Redis used_memory per session (100 k sessions of the web scenario's shape created through sessiond).")
  start_sessiond sessiond-redis-2 --store=redis --redis_addrs="127.0.0.1:$REDIS_PORT"
  SECOND_PID=$PID SECOND_PORT=$PORT
  # Two generators at once, half the requests in flight each, one per replica.
  (PID=$FIRST_PID PORT=$FIRST_PORT IN_FLIGHT=$((IN_FLIGHT / 2)) \
     loadgen sessiond-redis-web-replica-1 "$(allowed)" --scenario=web --backend_pid="$REDIS_PID") &
  first_run=$!
  (PID=$SECOND_PID PORT=$SECOND_PORT IN_FLIGHT=$((IN_FLIGHT / 2)) \
     loadgen sessiond-redis-web-replica-2 "$(allowed)" --scenario=web --backend_pid="$REDIS_PID")
  wait "$first_run"
  stop "$SECOND_PID"
  stop "$FIRST_PID"
  stop "$REDIS_PID"
fi

# --- sessiond on the PostgreSQL backend: the same work, and the database's bytes per session ----
# sessiond and PostgreSQL (every process of it) share CPU 1, as with Redis.
if grep -q postgres <<< "$store_help"; then
  start_postgres postgres-backend
  PG_PID=$PID PG_PORT=$PORT
  psql_query() { "$PG_BIN/psql" -X -A -t -h 127.0.0.1 -p "$PG_PORT" -U sessiond -d postgres -c "$1"; }
  start_sessiond sessiond-postgres --store=postgres \
    --postgres_dsn="host=127.0.0.1 port=$PG_PORT user=sessiond dbname=postgres"
  loadgen sessiond-postgres-web "$(allowed)" --scenario=web --backend_pid="$PG_PID"
  loadgen sessiond-postgres-commit "$(allowed)" --scenario=commit --backend_pid="$PG_PID"
  table_bytes() { psql_query "SELECT pg_total_relation_size('sessiond_sessions')"; }
  rows() { psql_query "SELECT count(*) FROM sessiond_sessions"; }
  before=$(table_bytes) before_rows=$(rows)
  # Each create is a transaction with an fsync: a few hundred a second on a small virtual disk.
  pg_sessions=$([[ $MODE == quick ]] && echo 20000 || echo 100000)
  loadgen sessiond-postgres-load "$(( pg_sessions / 250 + 60 ))" --scenario=load \
    --sessions="$pg_sessions"
  NOTES+=("sessiond on PostgreSQL: $(( ($(table_bytes) - before) / ($(rows) - before_rows) )) B of table, index and TOAST per session ($pg_sessions sessions of the web scenario's shape created through sessiond; pg_total_relation_size).")
  stop "$PID"
  stop "$PG_PID"
fi

# --- P6: durable commits, if this sessiond has the RocksDB backend ----------------------------
if grep -q rocksdb <<< "$store_help"; then
  data_dir=$BUILD/bench-rocksdb  # on disk, not tmpfs: fsync must cost what it costs
  rm -rf "$data_dir"
  start_sessiond sessiond-rocksdb --store=rocksdb --data_dir="$data_dir" --durability=sync
  loadgen rocksdb-sync-commit "$(allowed)" --scenario=commit
  stop "$PID"
  rm -rf "$data_dir"
fi

python3 bench/report.py table "$RESULTS" "$MODE" ${NOTES[@]+"${NOTES[@]}"} | tee "$OUT/table.md"
