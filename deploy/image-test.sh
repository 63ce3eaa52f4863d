#!/usr/bin/env bash
# Builds sessiond's image with Debian's Docker engine (from a Debian 12 base made locally) and runs
# it as the chart runs it, in memory and rocksdb modes: the environment from the chart's rendered
# ConfigMap, its securityContext (uid 10001, read-only root file system, no capabilities, no
# privilege escalation), its memory limit, /tmp and (rocksdb) /data as volumes. Checks health
# SERVING with the image's own `sessiond health`, a grpcurl round trip, /metrics, that the process
# is not root and its root file system is read-only, that rocksdb sessions outlive the container on
# their volume, that SIGTERM drains and exits 0, and the image's size (at most 120 MB).
# Usage: deploy/image-test.sh HELM_BINARY. Prints the build time and the size.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM="$1"
source scripts/lib/processes.sh
source deploy/lib/docker.sh
trap 'cleanup_containers; stop_dockerd; stop_tracked' EXIT
IMAGE=sessiond:dev
MAX_IMAGE_BYTES=$((120 * 1000 * 1000))
GRPCURL="${GRPCURL:-$(command -v grpcurl || echo "$HOME/go/bin/grpcurl")}"
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # description, command...
  local what="$1"; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
CONTAINERS=()
cleanup_containers() {
  local c
  for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f "$c" >/dev/null 2>&1 || true; done
  "$DOCKER" volume rm -f sessiond-image-test-data >/dev/null 2>&1 || true
}

start_dockerd
ensure_base_image
started=$(date +%s)
"$DOCKER" build --network host --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" . >"$SCRATCH/build.log" 2>&1 ||
  { cat "$SCRATCH/build.log"; exit 1; }
echo "image: built in $(( $(date +%s) - started )) s"
# Keep the build stage (its apt layer is the next build's cache) under a tag, and drop the stages
# of earlier builds, so the engine's cache does not grow with every run.
"$DOCKER" build --network host --build-arg "BASE=$BASE_IMAGE" --target build -t sessiond-build:cache . \
  >/dev/null 2>&1
"$DOCKER" image prune -f >/dev/null
size="$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")"
echo "image: $size bytes"
check "image is at most 120 MB ($size bytes)" test "$size" -le "$MAX_IMAGE_BYTES"
check "image runs as uid 10001" test "$("$DOCKER" image inspect -f '{{.Config.User}}' "$IMAGE")" = 10001:10001

# The chart's environment for a mode, as docker --env-file lines.
chart_env() {
  "$HELM" template sessiond helm/sessiond -f "helm/tests/values/$1.yaml" \
    --show-only templates/configmap.yaml |
    /usr/bin/python3 -c 'import sys, yaml; [print(f"{k}={v}") for k, v in yaml.safe_load(sys.stdin)["data"].items()]'
}
chart_memory_limit() {
  "$HELM" template sessiond helm/sessiond -f "helm/tests/values/$1.yaml" |
    /usr/bin/python3 -c '
import sys, yaml
for doc in yaml.safe_load_all(sys.stdin):
    if doc and doc["kind"] in ("Deployment", "StatefulSet"):
        print(doc["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"].replace("Mi", "m").replace("Gi", "g"))'
}

# Runs the image as the chart would, but listening on free loopback ports (the engine shares the
# host's network). Sets NAME, PORT, METRICS_PORT.
run_as_chart() {  # mode, container name
  local mode="$1"
  NAME="$2"
  PORT="$(free_port)"
  METRICS_PORT="$(free_port)"
  chart_env "$mode" >"$SCRATCH/$mode.env"
  local volumes=(--tmpfs /tmp:size=64m)
  [[ "$mode" == rocksdb ]] && volumes+=(-v sessiond-image-test-data:/data)
  "$DOCKER" run -d --name "$NAME" --network host --env-file "$SCRATCH/$mode.env" \
    -e "SESSIOND_LISTEN=127.0.0.1:$PORT" -e "SESSIOND_METRICS_LISTEN=127.0.0.1:$METRICS_PORT" \
    --user 10001:10001 --read-only --cap-drop ALL --security-opt no-new-privileges \
    --memory "$(chart_memory_limit "$mode")" "${volumes[@]}" "$IMAGE" >/dev/null
  CONTAINERS+=("$NAME")
  for _ in $(seq 100); do
    "$DOCKER" run --rm --network host "$IMAGE" health "--addr=127.0.0.1:$PORT" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  "$DOCKER" logs "$NAME" >&2
  return 1
}

health_is() {  # expected status, port
  [[ "$("$DOCKER" run --rm --network host --read-only --user 10001:10001 "$IMAGE" health \
    "--addr=127.0.0.1:$2" --service=sessiond.v1.SessionService)" == "$1" ]]
}
rpc() {  # method, json
  "$GRPCURL" -plaintext -d "$2" "127.0.0.1:$PORT" "sessiond.v1.SessionService/$1"
}
process_uid() {
  awk '/^Uid:/ {print $2}' "/proc/$("$DOCKER" inspect -f '{{.State.Pid}}' "$NAME")/status"
}
root_is_read_only() {
  local pid
  pid="$("$DOCKER" inspect -f '{{.State.Pid}}' "$NAME")"
  awk '$5 == "/" {print $6}' "/proc/$pid/mountinfo" | grep -q '^ro'
}
stops_cleanly() {
  "$DOCKER" stop -t 30 "$NAME" >/dev/null
  local code logs
  code="$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$NAME")"
  logs="$("$DOCKER" logs "$NAME" 2>&1)"
  if [[ "$code" == 0 ]] && grep -q '"message":"Terminated; draining"' <<<"$logs" &&
    tail -1 <<<"$logs" | grep -q '"message":"stopped"'; then
    return 0
  fi
  echo "exit code $code; the log's last lines:"
  tail -5 <<<"$logs"
  return 1
}

for mode in memory rocksdb; do
  if ! run_as_chart "$mode" "sessiond-image-test-$mode"; then
    not_ok "$mode: the container serves"
    continue
  fi
  check "$mode: health SERVING (sessiond health in the image)" health_is SERVING "$PORT"
  created="$(rpc CreateSession '{"entries": {"cart": {"string_value": "3 apples"}}}')"
  id="$(jq -r .session.id <<<"$created")"
  check "$mode: grpcurl CreateSession + Get round trip" \
    test "$(rpc Get "{\"id\": \"$id\"}" | jq -r .entries.cart.string_value)" = "3 apples"
  check "$mode: /metrics counts the calls" \
    bash -c "curl -sf http://127.0.0.1:$METRICS_PORT/metrics | grep -q 'sessiond_rpcs_total{code=\"OK\",method=\"/sessiond.v1.SessionService/Get\"} 1'"
  check "$mode: runs as uid 10001, not root" test "$(process_uid)" = 10001
  check "$mode: root file system is read-only" root_is_read_only
  check "$mode: logs are JSON lines" \
    bash -c "'$DOCKER' logs '$NAME' 2>&1 | head -1 | jq -e .time >/dev/null"
  check "$mode: SIGTERM drains and exits 0" stops_cleanly
  if [[ "$mode" == rocksdb ]]; then
    if run_as_chart rocksdb sessiond-image-test-rocksdb-again; then
      check "rocksdb: the session outlives the container on its volume" \
        test "$(rpc Get "{\"id\": \"$id\"}" | jq -r .entries.cart.string_value)" = "3 apples"
      stops_cleanly || true
    else
      not_ok "rocksdb: a second container serves from the same volume"
    fi
  fi
done
echo "image: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
