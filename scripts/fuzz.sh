#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into ./build-fuzz and runs
# each for SESSIOND_FUZZ_SECONDS (default 60) from its seed corpus (tests/fuzz/corpus/<target>).
# Fails on any crash, leak, timeout (a single input over 10 s) or out-of-memory (over 2 GiB).
# Usage: scripts/fuzz.sh [target...]   (default: all; new corpus entries go to build-fuzz/corpus)
# For an hour on one target: SESSIOND_FUZZ_SECONDS=3600 scripts/fuzz.sh session_state_fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SESSIOND_FUZZ_SECONDS:-60}"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] ||
  targets=(request_fuzzer session_state_fuzzer session_codec_fuzzer session_id_fuzzer
           tenants_file_fuzzer)
flags="-fsanitize=address,undefined -fsanitize=fuzzer-no-link -fno-sanitize-recover=all"
flags="$flags -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DSESSIOND_BUILD_TESTS=OFF -DSESSIOND_BUILD_FUZZERS=ON \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" > /dev/null
ninja -C build-fuzz -j "${SESSIOND_BUILD_JOBS:-2}" "${targets[@]}"
for target in "${targets[@]}"; do
  corpus="build-fuzz/corpus/$target"
  log="build-fuzz/$target.log"
  mkdir -p "$corpus"
  echo "fuzz: $target for ${seconds}s"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/$target-" "$corpus" \
    "tests/fuzz/corpus/$target" > "$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target failed (input saved as build-fuzz/$target-*; full log $log)"
    exit 1
  fi
  grep -E "^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::peak_rss" "$log" || true
done
