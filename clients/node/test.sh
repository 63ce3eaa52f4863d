#!/usr/bin/env bash
# The Node client's suite: installs its npm dependencies (npm ci; npm caches them under ~/.npm),
# checks formatting (prettier) and lint (eslint), type-checks and builds, then runs the tests
# (node --test) against a real sessiond: $SESSIOND_BIN, else /work/bin/sessiond.
set -euo pipefail
cd "$(dirname "$0")"
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "clients/node/test.sh: Node 20 or newer is required" >&2
  exit 1
fi
npm ci --no-fund --no-audit --loglevel=error
npx prettier --check .
npx eslint .
npx tsc -p tsconfig.build.json
npx tsc -p tsconfig.json
timeout 300 node --test --test-concurrency=1 build/test/*.test.js
