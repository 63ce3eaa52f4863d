#!/usr/bin/env bash
# Runs the hostile-traffic suite (hostile_test.py) against SESSIOND_BINARY, with Python's `h2` in a
# virtual environment kept under ~/.cache (created on first use). Extra arguments go to unittest
# (for example HostileTest.test_rapid_reset).
set -euo pipefail
binary="$1"
shift
H2_VERSION=4.1.0
venv="${XDG_CACHE_HOME:-$HOME/.cache}/sessiond-hostile-venv-h2-$H2_VERSION"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import h2" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "h2==$H2_VERSION"
fi
exec "$venv/bin/python" "$(dirname "$0")/hostile_test.py" "$binary" "$@"
