#!/usr/bin/env bash
# The shared-login browser test: starts sessiond, the Express app (express/), the Flask app
# (flask/), the Go app (go/), the Spring app (spring/) and nginx serving all four under one origin
# on free loopback ports, then drives headless Chromium through browser.test.mjs (log in on
# Express, cart on Flask, seen on Go and Spring, log out on Flask, then again on Spring).
# Installs what it needs: Debian nginx, chromium, JDK 17 and Maven, npm packages (playwright-core,
# the apps'); Go must be there (clients/go/env.sh).
# Builds the Go and the Spring app first, one after the other (cached: go/run.sh, spring/run.sh).
# Screenshots and server logs go to test-artefacts/. Needs $SESSIOND_BIN (else /work/bin/sessiond).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
[[ -d flask ]] || { echo "shared-login: flask/ is missing (the Python client's part)" >&2; exit 1; }

missing=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v mvn >/dev/null || missing+=(maven)
[[ "$(javac -version 2>&1)" == "javac 17"* ]] || missing+=(openjdk-17-jdk-headless)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
npm ci --no-fund --no-audit --loglevel=error
(cd express && npm ci --no-fund --no-audit --loglevel=error)
go/run.sh --build
spring/run.sh --build

artefacts="$here/test-artefacts"
rm -rf "$artefacts" && mkdir -p "$artefacts"
source ../../scripts/lib/processes.sh
# Waits (30 s at most) until `url` answers, or fails naming `what`.
wait_http() {
  local what="$1" url="$2"
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "shared-login: $what did not answer at $url; its log:" >&2
  cat "$artefacts/$what.log" >&2 || true
  exit 1
}

start_sessiond "$artefacts/sessiond.log"
export SESSION_SECRET="shared-login-$RANDOM$RANDOM" COOKIE_SECURE=0
express_port="$(free_port)" flask_port="$(free_port)" go_port="$(free_port)"
spring_port="$(free_port)" nginx_port="$(free_port)"
PORT="$express_port" node express/app.mjs >"$artefacts/express.log" 2>&1 &
track $!
PORT="$flask_port" flask/run.sh >"$artefacts/flask.log" 2>&1 &
track $!
PORT="$go_port" go/run.sh >"$artefacts/go.log" 2>&1 &
track $!
PORT="$spring_port" spring/run.sh >"$artefacts/spring.log" 2>&1 &
track $!
mkdir -p "$SCRATCH/nginx"
sed -e "s|@PREFIX@|$SCRATCH/nginx|g" -e "s|@NGINX_PORT@|$nginx_port|" -e "s|@EXPRESS_PORT@|$express_port|" \
  -e "s|@FLASK_PORT@|$flask_port|" -e "s|@GO_PORT@|$go_port|" -e "s|@SPRING_PORT@|$spring_port|" \
  nginx.conf.template >"$SCRATCH/nginx/nginx.conf"
nginx -p "$SCRATCH/nginx" -c "$SCRATCH/nginx/nginx.conf" -e "$SCRATCH/nginx/error.log" >"$artefacts/nginx.log" 2>&1 &
track $!

wait_http express "http://127.0.0.1:$express_port/express/"
wait_http flask "http://127.0.0.1:$flask_port/flask/"
wait_http go "http://127.0.0.1:$go_port/go/"
wait_http spring "http://127.0.0.1:$spring_port/spring/"
wait_http nginx "http://127.0.0.1:$nginx_port/express/"
BASE_URL="http://127.0.0.1:$nginx_port" node --test browser.test.mjs
