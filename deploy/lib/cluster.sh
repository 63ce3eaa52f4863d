# Bash helpers for deploy/cluster-test.sh: a real Kubernetes control plane on 127.0.0.1 (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler) and kwok for a fake node, from the
# binaries deploy/kube-binaries.sh built. Source after scripts/lib/processes.sh with $KBIN set.
# Nothing here ever connects to a cluster or pod address: only to the loopback ports it opened.
# Every process is tracked by pid (stopped on exit, in reverse order of start).
PKI="$SCRATCH/pki"
export KUBECONFIG="$SCRATCH/admin.kubeconfig"

# A CA, the apiserver's serving certificate, client certificates and the service-account key.
make_certificates() {
  mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
      -subj "/CN=sessiond-test-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' >san.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile san.ext -out apiserver.crt 2>/dev/null
    local who subject
    for who in admin:/O=system:masters/CN=admin \
               controller-manager:/CN=system:kube-controller-manager \
               scheduler:/CN=system:kube-scheduler \
               kwok:/O=system:masters/CN=kwok; do
      subject="${who#*:}"
      who="${who%%:*}"
      openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "$subject" 2>/dev/null
      openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
        -out "$who.crt" 2>/dev/null
    done
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
}

# A kubeconfig for client certificate $1 at $2.
make_kubeconfig() {
  local who="$1" file="$2"
  "$KBIN/kubectl" --kubeconfig "$file" config set-cluster test --server "https://127.0.0.1:$APISERVER_PORT" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$KBIN/kubectl" --kubeconfig "$file" config set-credentials "$who" \
    --client-certificate "$PKI/$who.crt" --client-key "$PKI/$who.key" --embed-certs >/dev/null
  "$KBIN/kubectl" --kubeconfig "$file" config set-context test --cluster test --user "$who" >/dev/null
  "$KBIN/kubectl" --kubeconfig "$file" config use-context test >/dev/null
}

# Waits up to $1 seconds for command $2... to succeed.
wait_for() {
  local seconds="$1"; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.5
  done
}

start_control_plane() {
  make_certificates
  local etcd_port etcd_peer_port kcm_port scheduler_port
  etcd_port="$(free_port)"
  etcd_peer_port="$(free_port)"
  APISERVER_PORT="$(free_port)"
  kcm_port="$(free_port)"
  scheduler_port="$(free_port)"
  local logs="$SCRATCH/logs"
  mkdir -p "$logs"

  "$KBIN/etcd" --name test --data-dir "$SCRATCH/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "test=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls "" \
    >"$logs/etcd.log" 2>&1 &
  track $!

  "$KBIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --endpoint-reconciler-type none --authorization-mode Node,RBAC \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" \
    --tls-private-key-file "$PKI/apiserver.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range 127.96.0.0/24 >"$logs/kube-apiserver.log" 2>&1 &
  track $!
  make_kubeconfig admin "$KUBECONFIG"
  make_kubeconfig controller-manager "$SCRATCH/controller-manager.kubeconfig"
  make_kubeconfig scheduler "$SCRATCH/scheduler.kubeconfig"
  make_kubeconfig kwok "$SCRATCH/kwok.kubeconfig"
  wait_for 60 "$KBIN/kubectl" get --raw /readyz ||
    { echo "kube-apiserver is not ready; its log:" >&2; tail -30 "$logs/kube-apiserver.log" >&2; return 1; }

  "$KBIN/kube-controller-manager" --kubeconfig "$SCRATCH/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$SCRATCH/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$SCRATCH/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
    --use-service-account-credentials=true --service-account-private-key-file "$PKI/sa.key" \
    --root-ca-file "$PKI/ca.crt" --cluster-signing-cert-file "$PKI/ca.crt" \
    --cluster-signing-key-file "$PKI/ca.key" >"$logs/kube-controller-manager.log" 2>&1 &
  track $!
  "$KBIN/kube-scheduler" --kubeconfig "$SCRATCH/scheduler.kubeconfig" \
    --authentication-kubeconfig "$SCRATCH/scheduler.kubeconfig" \
    --authorization-kubeconfig "$SCRATCH/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$scheduler_port" --leader-elect=false \
    >"$logs/kube-scheduler.log" 2>&1 &
  track $!

  # kwok: its stock fast stages, plus one that completes the chart's `helm test` pod.
  "$KBIN/kubectl" kustomize "$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage/fast" \
    >"$SCRATCH/kwok-stages.yaml"
  /usr/bin/python3 - "$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage/pod/general/pod-complete.yaml" \
    >>"$SCRATCH/kwok-stages.yaml" <<'PY'
import sys, yaml
stage = yaml.safe_load(open(sys.argv[1]))
stage["metadata"]["name"] = "pod-test-complete"
expressions = stage["spec"]["selector"]["matchExpressions"]
stage["spec"]["selector"]["matchExpressions"] = [
    e for e in expressions if "ownerReferences" not in e["key"]] + [
    {"key": '.metadata.labels["app.kubernetes.io/component"]', "operator": "In", "values": ["test"]}]
print("---")
print(yaml.safe_dump(stage))
PY
  "$KBIN/kwok" --kubeconfig "$SCRATCH/kwok.kubeconfig" --config "$SCRATCH/kwok-stages.yaml" \
    --manage-all-nodes=true --cidr 10.244.0.0/24 --node-ip 10.244.1.1 \
    --server-address "127.0.0.1:$(free_port)" >"$logs/kwok.log" 2>&1 &
  track $!
  "$KBIN/kubectl" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "16", memory: 32Gi, pods: "110"}
  capacity: {cpu: "16", memory: 32Gi, pods: "110"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: sessiond-test-pv
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /var/lib/sessiond-test-pv}
YAML
  wait_for 120 node_ready ||
    { echo "the kwok node is not Ready; kwok's log:" >&2; tail -30 "$logs/kwok.log" >&2; return 1; }
  # The default ServiceAccount must exist before pods can be created in a namespace.
  wait_for 60 "$KBIN/kubectl" get serviceaccount default -n default
}

# Stops the tracked processes newest first (kwok and the controllers before the apiserver, the
# apiserver before etcd), each by its pid, so none is left retrying against a stopped one.
stop_cluster() {
  local i pid
  for ((i = ${#TRACKED_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${TRACKED_PIDS[$i]}"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

node_ready() {
  [[ "$("$KBIN/kubectl" get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}
