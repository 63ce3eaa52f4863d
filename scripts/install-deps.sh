#!/usr/bin/env bash
# Installs what building sessiond needs on Debian 12 (and, with --test, what the tests need).
# Idempotent: packages already present are not fetched again. Runs apt-get as root (sudo if needed).
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
          libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc grpc-proto
          libabsl-dev libssl-dev librocksdb-dev libhiredis-dev libpq-dev prometheus-cpp-dev
          nlohmann-json3-dev)
test_packages=(libgtest-dev libgmock-dev googletest jq python3 clang-format clang
               redis-server redis-tools openssl postgresql-15 libclang-rt-14-dev python3-venv
               docker.io mmdebstrap python3-yaml curl)  # the last line: deploy/test.sh
GRPCURL_VERSION=v1.9.4

with_tests=false
[[ "${1:-}" == "--test" ]] && with_tests=true
if $with_tests; then
  packages+=("${test_packages[@]}")
  # grpcurl is built with Go; a toolchain outside apt (such as /usr/local/go) serves as well.
  command -v go >/dev/null || [[ -x /usr/local/go/bin/go ]] || packages+=(golang-go)
fi

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

if $with_tests; then
  export PATH="$PATH:/usr/local/go/bin"
  gobin="$(go env GOPATH)/bin"
  if [[ ! -x "$gobin/grpcurl" ]]; then
    echo "install-deps: go install grpcurl@$GRPCURL_VERSION"
    go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  fi
fi
