#!/usr/bin/env bash
# Installs the build and test dependencies, builds everything and runs the whole test suite, then
# every language client's suite and the cross-language tests (scripts/test-clients.sh), the static
# checks (scripts/lint.sh) and the unit tests under ASan and UBSan (scripts/sanitize.sh). Extra
# arguments go to ctest (for example `-L unit` or `-R Contract`); the rest runs only when there are
# none.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
export PATH="$PATH:/usr/local/go/bin:$(PATH="$PATH:/usr/local/go/bin" go env GOPATH)/bin"
scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j 2 "$@")
if [[ $# -eq 0 ]]; then
  scripts/test-clients.sh
  deploy/test.sh
  scripts/lint.sh
  scripts/sanitize.sh
  scripts/fuzz.sh
fi
