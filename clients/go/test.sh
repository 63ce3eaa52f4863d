#!/usr/bin/env bash
# The Go client's suite: gofmt and go vet, then go test -race against a real sessiond
# ($SESSIOND_BIN, default build/service/sessiond) that the tests start themselves. Modules and
# build results are cached under ~/.cache (env.sh); one build job at a time.
set -euo pipefail
cd "$(dirname "$0")"
source ./env.sh
export SESSIOND_BIN="${SESSIOND_BIN:-$(cd ../.. && pwd)/build/service/sessiond}"
if [[ ! -x "$SESSIOND_BIN" ]]; then
  echo "clients/go: SESSIOND_BIN=$SESSIOND_BIN is not an executable sessiond" >&2
  exit 1
fi
go mod download
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "clients/go: not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 300s ./...
