#!/usr/bin/env bash
# Serves the Flask half of the shared-login example with waitress on 127.0.0.1:$PORT.
# Needs SESSIOND_ADDR, PORT and SESSION_SECRET; COOKIE_SECURE=0 for plain http. Installs Flask,
# waitress and the sessiond client (from clients/python) into a venv under ~/.cache the first time.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
client="${SESSIOND_PYTHON_CLIENT:-$here/../../../clients/python}"
: "${SESSIOND_ADDR:?}" "${PORT:?}" "${SESSION_SECRET:?}"
key="$( (python3 --version; cat "$here/requirements.txt" "$client/pyproject.toml") | sha256sum | cut -c1-16)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/sessiond-python/shared-login-flask-$key"
if [[ ! -f "$venv/.installed" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" "$client"
  touch "$venv/.installed"
fi
cd "$here"
exec "$venv/bin/waitress-serve" --listen="127.0.0.1:$PORT" app:app
