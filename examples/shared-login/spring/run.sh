#!/usr/bin/env bash
# Serves the Spring half of the shared-login example on 127.0.0.1:$PORT. Needs SESSIOND_ADDR, PORT
# and SESSION_SECRET; COOKIE_SECURE=0 for plain http. Builds first, with Maven's repository in
# ~/.cache/sessiond-maven, one job at a time: installs the Java client (clients/java, tests
# skipped) and packages this app into one jar, each only when its sources are newer than what
# was built. `run.sh --build` only builds, so that a caller can build before it starts servers.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
clients="$(cd "$here/../../../clients/java" && pwd)"
repo="$HOME/.cache/sessiond-maven"
mvn=(mvn -B -T1 -q -Dstyle.color=never -Dmaven.repo.local="$repo")
# True when the file $1 is missing or older than a file under the directories $2...
stale() {
  [[ ! -e "$1" ]] || [[ -n "$(find "${@:2}" -type f -newer "$1" -print -quit)" ]]
}
installed="$repo/dev/sessiond/sessiond-spring-session/0.1.0-SNAPSHOT/sessiond-spring-session-0.1.0-SNAPSHOT.jar"
if stale "$installed" "$clients"/{pom.xml,core/src,core/pom.xml,servlet/src,servlet/pom.xml,spring/src,spring/pom.xml} \
    "$clients/../../proto"; then
  (cd "$clients" && "${mvn[@]}" install -DskipTests -Dspotless.check.skip=true -pl spring -am)
fi
jar="$here/target/shared-login-spring.jar"
if stale "$jar" "$here/pom.xml" "$here/src" "$installed"; then
  (cd "$here" && "${mvn[@]}" package -DskipTests)
fi
[[ "${1:-}" == --build ]] && exit 0
: "${SESSIOND_ADDR:?}" "${PORT:?}" "${SESSION_SECRET:?}"
exec java -XX:TieredStopAtLevel=1 -jar "$jar"
