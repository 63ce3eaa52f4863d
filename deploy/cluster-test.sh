#!/usr/bin/env bash
# The chart on a real Kubernetes control plane on loopback (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler; kwok for the node, whose pods go Running without
# running anything). Checks: `helm install --wait` in each mode (the API server accepts and
# validates every object); every golden render passes a server-side dry run; `helm upgrade` with a
# config change rolls the pods; `helm rollback`; the PodDisruptionBudget blocks an eviction;
# `helm test` creates its pod; `helm uninstall` keeps the rocksdb PersistentVolumeClaim. No traffic
# is sent to a cluster or pod address.
# Usage: deploy/cluster-test.sh BIN_DIR (from deploy/kube-binaries.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
KBIN="$1"
KWOK_VERSION=0.8.0
export PATH="$PATH:/usr/local/go/bin"
source scripts/lib/processes.sh
source deploy/lib/cluster.sh
trap 'stop_cluster; stop_tracked' EXIT
HELM="$KBIN/helm"
KUBECTL="$KBIN/kubectl"
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {
  local what="$1"; shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

started=$SECONDS
start_control_plane
echo "cluster: control plane and kwok node ready in $((SECONDS - started)) s"

install() {  # release, namespace, values file, extra helm args...
  local release="$1" namespace="$2" values="$3"; shift 3
  "$HELM" install "$release" helm/sessiond -n "$namespace" --create-namespace -f "$values" \
    --wait --timeout 180s "$@" >"$SCRATCH/helm-$release.log" 2>&1 ||
    { cat "$SCRATCH/helm-$release.log"; return 1; }
}
pods_of() {  # namespace, release: names of its running pods
  "$KUBECTL" get pods -n "$1" -l "app.kubernetes.io/instance=$2" \
    --field-selector=status.phase=Running -o jsonpath='{.items[*].metadata.name}'
}
dry_run() {  # values file
  "$HELM" template dry helm/sessiond -n dry -f "$1" |
    "$KUBECTL" apply --dry-run=server -n dry -f - >"$SCRATCH/dry-run.log" 2>&1 ||
    { cat "$SCRATCH/dry-run.log"; return 1; }
}

# Server-side validation of every test render (the ServiceMonitor is left out: no CRD here).
"$KUBECTL" create namespace dry >/dev/null
for values in helm/tests/values/*.yaml; do
  check "server-side dry run accepts the $(basename "$values" .yaml) render" dry_run "$values"
done

# memory: install, upgrade rolls the pod, rollback, PDB, helm test.
check "memory: helm install --wait" install mem mem helm/tests/values/memory.yaml
first_pod="$(pods_of mem mem)"
check "memory: one Running pod" test "$(wc -w <<<"$first_pod")" -eq 1
upgrade() {
  "$HELM" upgrade mem helm/sessiond -n mem -f helm/tests/values/memory.yaml \
    --set config.max_keys=100 --wait --timeout 180s >"$SCRATCH/upgrade.log" 2>&1 ||
    { cat "$SCRATCH/upgrade.log"; return 1; }
}
check "memory: helm upgrade with a config change --wait" upgrade
rolled() {
  local now
  now="$(pods_of mem mem)"
  [[ -n "$now" && "$now" != "$first_pod" ]] &&
    [[ "$("$KUBECTL" get configmap mem-sessiond -n mem -o jsonpath='{.data.SESSIOND_MAX_KEYS}')" == 100 ]]
}
check "memory: the config change rolled the pod (checksum annotation)" wait_for 60 rolled
rollback() {
  "$HELM" rollback mem 1 -n mem --wait --timeout 180s >"$SCRATCH/rollback.log" 2>&1 ||
    { cat "$SCRATCH/rollback.log"; return 1; }
  [[ -z "$("$KUBECTL" get configmap mem-sessiond -n mem -o jsonpath='{.data.SESSIOND_MAX_KEYS}')" ]] &&
    [[ "$("$HELM" history mem -n mem -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["revision"])')" == 3 ]]
}
check "memory: helm rollback restores revision 1's config as revision 3" rollback
pdb_ready() {
  [[ "$("$KUBECTL" get pdb mem-sessiond -n mem -o jsonpath='{.status.currentHealthy}/{.status.disruptionsAllowed}')" == 1/0 ]]
}
evict_refused() {
  wait_for 60 pdb_ready || return 1
  local pod
  pod="$(pods_of mem mem)"
  printf '{"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"%s","namespace":"mem"}}' "$pod" \
    >"$SCRATCH/eviction.json"
  ! "$KUBECTL" create --raw "/api/v1/namespaces/mem/pods/$pod/eviction" -f "$SCRATCH/eviction.json" \
    >"$SCRATCH/eviction.log" 2>&1 && grep -q "disruption budget" "$SCRATCH/eviction.log" &&
    [[ -n "$("$KUBECTL" get pod "$pod" -n mem -o name)" ]]
}
check "memory: the PodDisruptionBudget blocks an eviction" evict_refused
helm_test() {
  "$HELM" test mem -n mem --timeout 120s >"$SCRATCH/helm-test.log" 2>&1 ||
    { cat "$SCRATCH/helm-test.log"; return 1; }
  [[ "$("$KUBECTL" get pod mem-sessiond-test-health -n mem -o jsonpath='{.spec.containers[0].args}')" == '["health","--addr=mem-sessiond:50051","--service=sessiond.v1.SessionService","--timeout=5s"]' ]]
}
check "memory: helm test creates the health-check pod (kwok completes it)" helm_test

# rocksdb: StatefulSet with a claim; uninstall keeps the claim.
check "rocksdb: helm install --wait" install rdb rdb helm/tests/values/rocksdb.yaml
claim_bound() {
  [[ "$("$KUBECTL" get pvc data-rdb-sessiond-0 -n rdb -o jsonpath='{.status.phase}')" == Bound ]]
}
check "rocksdb: the pod's PersistentVolumeClaim is Bound" claim_bound
check "rocksdb: the pod has a startupProbe" test -n \
  "$("$KUBECTL" get pod rdb-sessiond-0 -n rdb -o jsonpath='{.spec.containers[0].startupProbe.grpc.port}')"
uninstall_keeps_claim() {
  "$HELM" uninstall rdb -n rdb --wait --timeout 120s >/dev/null &&
    wait_for 60 bash -c "! '$KUBECTL' get statefulset rdb-sessiond -n rdb" &&
    claim_bound
}
check "rocksdb: helm uninstall keeps the PersistentVolumeClaim" uninstall_keeps_claim

# redis: Deployment with an HPA, its Secrets mounted.
"$KUBECTL" create namespace red >/dev/null
"$KUBECTL" create secret generic redis-auth -n red --from-literal=password=secret >/dev/null
"$KUBECTL" create secret generic redis-ca -n red --from-literal=ca.crt=none >/dev/null
check "redis: helm install --wait" install red red helm/tests/values/redis.yaml
hpa_exists() { "$KUBECTL" get hpa red-sessiond -n red >/dev/null; }
check "redis: the HorizontalPodAutoscaler exists" hpa_exists
echo "cluster: $passed passed, $failed failed (in $((SECONDS - started)) s)"
[[ $failed -eq 0 ]]
