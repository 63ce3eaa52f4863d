#!/usr/bin/env bash
# Regenerates sessiondv1/ (messages and gRPC stubs) from proto/sessiond/v1/session.proto with
# Debian's protoc and protoc-gen-go / protoc-gen-go-grpc at the versions pinned in env.sh, which it
# installs with `go install` into ~/.cache/sessiond-go/bin/<version> the first time.
set -euo pipefail
cd "$(dirname "$0")"
source ./env.sh
if ! command -v protoc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends protobuf-compiler
fi
install_plugin() {  # install_plugin PACKAGE VERSION: prints the directory holding the binary
  local dir="$HOME/.cache/sessiond-go/bin/$(basename "$1")-$2"
  [[ -x "$dir/$(basename "$1")" ]] || GOBIN="$dir" go install "$1@$2"
  echo "$dir"
}
gen_go="$(install_plugin google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION")"
gen_grpc="$(install_plugin google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION")"
mapping=Msessiond/v1/session.proto=sessiond.dev/client/go/sessiondv1
rm -f sessiondv1/*.pb.go
PATH="$gen_go:$gen_grpc:$PATH" protoc -I ../../proto \
  --go_out=sessiondv1 --go_opt=paths=source_relative,"$mapping" \
  --go-grpc_out=sessiondv1 --go-grpc_opt=paths=source_relative,"$mapping" \
  sessiond/v1/session.proto
# paths=source_relative mirrors the proto's directory; the package lives flat in sessiondv1/.
mv sessiondv1/sessiond/v1/*.pb.go sessiondv1/
rmdir sessiondv1/sessiond/v1 sessiondv1/sessiond
