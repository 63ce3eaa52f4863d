#!/usr/bin/env bash
# Serves the Flask half of the shared-login example with waitress on 127.0.0.1:$PORT.
# Needs SESSIOND_ADDR, PORT and SESSION_SECRET; COOKIE_SECURE=0 for plain http. Installs Flask,
# waitress and the sessiond client (from clients/python) into a venv under ~/.cache the first time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
client="${SESSIOND_PYTHON_CLIENT:-$here/../../../clients/python}"
: "${SESSIOND_ADDR:?}" "${PORT:?}" "${SESSION_SECRET:?}"
venv="$("$client/venv.sh" shared-login-flask -r "$here/requirements.txt")"
cd "$here"
exec "$venv/bin/waitress-serve" --listen="127.0.0.1:$PORT" app:app
