#!/usr/bin/env bash
# Everything deployment: installs what it needs (Debian's docker.io and mmdebstrap through
# scripts/install-deps.sh --test, the Kubernetes binaries built from Go modules and cached under
# ~/.cache), then runs the chart's offline checks (helm/test.sh), the container image test
# (deploy/image-test.sh) and the chart on a real control plane (deploy/cluster-test.sh). Called by
# scripts/test.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
# Debian's docker.io, mmdebstrap, jq, python3-yaml, grpcurl and Go are test dependencies.
scripts/install-deps.sh --test

started=$SECONDS
KBIN="$(deploy/kube-binaries.sh | tail -1)"
echo "deploy: Kubernetes binaries ready in $((SECONDS - started)) s"

status=0
helm/test.sh "$KBIN/helm" || status=1
deploy/image-test.sh "$KBIN/helm" || status=1
deploy/cluster-test.sh "$KBIN" || status=1
exit $status
