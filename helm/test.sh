#!/usr/bin/env bash
# Offline checks of the chart helm/sessiond: `helm lint --strict` in every mode, golden renders
# (helm template against the checked-in helm/tests/golden/*.yaml: any unreviewed change fails;
# UPDATE_GOLDEN=1 rewrites them for review), and values the schema or the chart must refuse, each
# with the message a user would see. Usage: helm/test.sh HELM_BINARY
set -euo pipefail
cd "$(dirname "$0")"
HELM="$1"
CHART=sessiond
KUBE_VERSION=1.37.2
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
not_ok() { echo "FAIL: $*"; failed=$((failed + 1)); }

for values in tests/values/*.yaml; do
  mode="$(basename "$values" .yaml)"
  if "$HELM" lint --strict "$CHART" -f "$values" >/tmp/helm-lint.$$ 2>&1; then
    ok "helm lint --strict ($mode)"
  else
    not_ok "helm lint --strict ($mode)"; cat /tmp/helm-lint.$$
  fi
  rendered="$("$HELM" template sessiond "$CHART" -f "$values" --namespace sessions \
    --kube-version "$KUBE_VERSION" --api-versions monitoring.coreos.com/v1/ServiceMonitor)"
  golden="tests/golden/$mode.yaml"
  if [[ "${UPDATE_GOLDEN:-}" == 1 ]]; then
    printf '%s\n' "$rendered" >"$golden"
  fi
  if diff -u "$golden" <(printf '%s\n' "$rendered") >/tmp/helm-diff.$$; then
    ok "golden render ($mode)"
  else
    not_ok "golden render ($mode) differs from $golden (review, then UPDATE_GOLDEN=1):"
    cat /tmp/helm-diff.$$
  fi
done
rm -f /tmp/helm-lint.$$ /tmp/helm-diff.$$

# Each bad value set, and a piece of the message it must fail with.
refuse() {
  local expected="$1"; shift
  local output
  if output="$("$HELM" template sessiond "$CHART" "$@" 2>&1)"; then
    not_ok "accepted: $*"
  elif [[ "$output" != *"$expected"* ]]; then
    not_ok "refused $* but without \"$expected\": $output"
  else
    ok "refuses $*"
  fi
}
refuse "replicas" --set replicas=2
refuse "replicas" --set mode=rocksdb --set replicas=3
refuse "mode" --set mode=postgres
refuse "replica" --set replica=1
refuse "logFormt" --set logFormt=json
refuse "image" --set image.repo=x
refuse "port" --set service.port=http
refuse "drainGrace" --set drainGrace=5
refuse "terminationGracePeriodSeconds=10 must be at least" --set terminationGracePeriodSeconds=10
refuse "/redis/addrs" --set mode=redis
refuse "addrs" --set mode=redis --set redis.addrs=no-port
refuse "minReplicas=5 is above" --set mode=redis --set redis.addrs=r:6379 \
  --set autoscaling.minReplicas=5 --set autoscaling.maxReplicas=2
refuse "memory" --set resources.limits.memory=null
refuse "runAsNonRoot" --set podSecurityContext.runAsNonRoot=false
refuse "config" --set config.store=redis
refuse "durability" --set mode=rocksdb --set rocksdb.durability=fast
refuse "metrics" --set metrics.port=50051
refuse "not both" --set tenants.secret=sessiond-tenants --set tenants.file=inline
refuse "/config" --set config.tenants_file=/etc/tenants.json
refuse "key" --set tenants.secret=sessiond-tenants --set tenants.key=a/b
refuse "reloadInterval" --set tenants.secret=sessiond-tenants --set tenants.reloadInterval=10
echo "helm: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
