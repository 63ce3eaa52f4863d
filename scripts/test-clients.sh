#!/usr/bin/env bash
# Checks that the checked-in stubs match proto/ (scripts/generate-clients.sh --check), runs every
# language client's own suite (clients/<language>/test.sh, which installs that
# language's dependencies itself), then the cross-language matrix and the examples' tests.
# Needs the sessiond binary built (scripts/build.sh); each suite starts its own servers.
set -euo pipefail
cd "$(dirname "$0")/.."
export SESSIOND_BIN="${SESSIOND_BIN:-$PWD/build/service/sessiond}"
[[ -x "$SESSIOND_BIN" ]] || { echo "test-clients: $SESSIOND_BIN is not built" >&2; exit 1; }
scripts/generate-clients.sh --check
shopt -s nullglob
for suite in clients/*/test.sh tests/interop/run.sh examples/*/test.sh; do
  echo "test-clients: $suite"
  "$suite"
done
