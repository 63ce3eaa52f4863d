#!/usr/bin/env bash
# Everything deployment: installs what it needs (Debian's docker.io and mmdebstrap, the Kubernetes
# binaries built from Go modules and cached under ~/.cache), then runs the chart's offline checks
# (helm/test.sh), the container image test (deploy/image-test.sh) and the chart on a real control
# plane (deploy/cluster-test.sh). Called by scripts/test.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in docker.io mmdebstrap jq curl openssl python3-yaml; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "deploy: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

started=$SECONDS
KBIN="$(deploy/kube-binaries.sh | tail -1)"
echo "deploy: Kubernetes binaries ready in $((SECONDS - started)) s"

status=0
helm/test.sh "$KBIN/helm" || status=1
deploy/image-test.sh "$KBIN/helm" || status=1
deploy/cluster-test.sh "$KBIN" || status=1
exit $status
