#!/usr/bin/env bash
# Installs the build dependencies, builds sessiond and runs it on 127.0.0.1:50051 with the memory
# store. Extra arguments are passed to sessiond (see `build/service/sessiond --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
SESSIOND_BUILD_TESTS=OFF scripts/build.sh sessiond
exec build/service/sessiond --listen=127.0.0.1:50051 --store=memory "$@"
