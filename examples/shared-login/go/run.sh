#!/usr/bin/env bash
# Serves the Go half of the shared-login example (clients/go/examples/sharedlogin) on
# 127.0.0.1:$PORT. Needs SESSIOND_ADDR, PORT and SESSION_SECRET; COOKIE_SECURE=0 for plain http.
# `run.sh --build` only builds (cached under ~/.cache/sessiond-go), so that a caller can build
# before it starts servers.
set -euo pipefail
client="$(cd "$(dirname "$0")/../../../clients/go" && pwd)"
source "$client/env.sh"
binary="$HOME/.cache/sessiond-go/sharedlogin"
(cd "$client" && go build -o "$binary" ./examples/sharedlogin)
[[ "${1:-}" == --build ]] && exit 0
: "${SESSIOND_ADDR:?}" "${PORT:?}" "${SESSION_SECRET:?}"
exec "$binary"
