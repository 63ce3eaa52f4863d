#!/usr/bin/env bash
# Runs the cross-language matrix (tests/interop/README.md) against $SESSIOND_BIN (default: the
# binary in build/). Arguments name the drivers to run (default: every one in drivers/); see
# `run.sh --help`. Exits non-zero if any check fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
export SESSIOND_BIN="${SESSIOND_BIN:-$root/build/service/sessiond}"
exec python3 "$root/tests/interop/matrix.py" "$@"
