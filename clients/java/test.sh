#!/usr/bin/env bash
# Builds the Java client (stubs generated from ../../proto by the Maven build), checks formatting
# (google-java-format through spotless) and runs every module's JUnit tests against a real
# sessiond ($SESSIOND_BIN), started and stopped by the tests. Installs a JDK 17 and Maven from
# Debian if missing; Maven's repository is cached under ~/.cache/sessiond-maven.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd ../.. && pwd)"
export SESSIOND_BIN="${SESSIOND_BIN:-$repo/build/service/sessiond}"
[[ -x "$SESSIOND_BIN" ]] || { echo "clients/java/test.sh: $SESSIOND_BIN is not built" >&2; exit 1; }
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null \
    || [[ "$(javac -version 2>&1)" != "javac 17"* ]]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    openjdk-17-jdk-headless maven
  export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
exec mvn -B -T1 -Dstyle.color=never -Dmaven.repo.local="$HOME/.cache/sessiond-maven" verify
