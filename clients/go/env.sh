# Sourced by this client's scripts: the Go toolchain, caches under ~/.cache, one build job at a
# time (the machine has 2 cores shared by everyone), and the pinned generator versions.
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="-p=1 -buildvcs=false"
export GOCACHE="${GOCACHE:-$HOME/.cache/go-build}"
export GOMODCACHE="${GOMODCACHE:-$HOME/.cache/go-mod}"
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
if ! command -v go >/dev/null; then
  echo "clients/go: no Go toolchain (go 1.24 or newer) on PATH or in /usr/local/go" >&2
  exit 1
fi
