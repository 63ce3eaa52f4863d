#!/usr/bin/env bash
# Builds the libraries and their unit tests with AddressSanitizer and UndefinedBehaviorSanitizer into
# ./build-asan and runs the unit tests there (called by scripts/test.sh after the main suite). Any
# memory error, leak or undefined behaviour fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSESSIOND_BUILD_TESTS=ON \
  -DCMAKE_CXX_FLAGS="-O1 $sanitizers" -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" > /dev/null
ninja -C build-asan -j "${SESSIOND_BUILD_JOBS:-2}" storage/all service/all clients/cpp/all
cd build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --timeout 600 -j 2 -L unit
