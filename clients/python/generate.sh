#!/usr/bin/env bash
# Regenerates the Python stubs of proto/sessiond/v1/session.proto into src/sessiond/v1/ with a
# pinned grpcio-tools (its bundled protoc and gRPC plugin) and mypy-protobuf (typed .pyi files),
# installed in a venv under ~/.cache keyed by those versions. The output is checked in; CI runs
# scripts/generate-clients.sh --check to see that it is current. Idempotent.
set -euo pipefail
GRPCIO_TOOLS=1.85.1
MYPY_PROTOBUF=5.1.0
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/sessiond-python/gen-grpcio-tools-$GRPCIO_TOOLS-mypy-protobuf-$MYPY_PROTOBUF"
if [[ ! -x "$venv/bin/protoc-gen-mypy_grpc" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "grpcio-tools==$GRPCIO_TOOLS" "mypy-protobuf==$MYPY_PROTOBUF"
fi
out="$here/src/sessiond/v1"
rm -rf "$out"
mkdir -p "$out"
"$venv/bin/python" -m grpc_tools.protoc -I "$repo/proto" \
  --python_out="$here/src" --grpc_python_out="$here/src" \
  --plugin=protoc-gen-mypy="$venv/bin/protoc-gen-mypy" --mypy_out="$here/src" \
  --plugin=protoc-gen-mypy_grpc="$venv/bin/protoc-gen-mypy_grpc" --mypy_grpc_out="$here/src" \
  "$repo/proto/sessiond/v1/session.proto"
header="# DO NOT EDIT: generated from proto/sessiond/v1/session.proto by clients/python/generate.sh."
printf '%s\n"""Generated sessiond.v1 messages and gRPC stubs."""\n' "$header" >"$out/__init__.py"
for file in "$out"/session_pb2*; do
  { echo "$header"; cat "$file"; } >"$file.tmp"
  mv "$file.tmp" "$file"
done
