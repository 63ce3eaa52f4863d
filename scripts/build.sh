#!/usr/bin/env bash
# Configures and builds sessiond into ./build. Extra arguments are ninja targets.
# SESSIOND_BUILD_TESTS=OFF leaves the tests (and their dependencies) out.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSESSIOND_BUILD_TESTS="${SESSIOND_BUILD_TESTS:-ON}" > /dev/null
ninja -C build -j "${SESSIOND_BUILD_JOBS:-2}" "$@"
