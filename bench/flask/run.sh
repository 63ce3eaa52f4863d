#!/usr/bin/env bash
# Benchmarks a minimal Flask app (read the session, and write one key or not) on sessiond (near
# cache off and on) vs Flask-Session on a local redis-server, under waitress, loaded by wrk; prints
# requests/s, p99 and web-tier and store CPU per request. Arguments go to bench.py (--duration,
# --connections, --rounds, --read-percent, --variants, ...).
# Needs sessiond ($SESSIOND_BIN, default build/service/sessiond), redis-server and wrk (installed
# from Debian's packages if missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export SESSIOND_BIN="${SESSIOND_BIN:-$repo/build/service/sessiond}"
if ! command -v wrk >/dev/null || ! command -v redis-server >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk redis-server >/dev/null
fi
venv="$("$repo/clients/python/venv.sh" bench-flask -r "$here/requirements.txt")"
exec "$venv/bin/python" "$here/bench.py" "$@"
