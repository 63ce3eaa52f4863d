# Bash helpers for the image test: a Docker engine of our own (Debian's docker.io) and a Debian 12
# base image made with mmdebstrap (no registry is reachable). Source after scripts/lib/processes.sh.
# The engine's images and build cache live under $DOCKER_CACHE, so a warm machine rebuilds only
# what changed; the base image's tar is cached there too.
DOCKER_CACHE="${SESSIOND_DOCKER_CACHE:-$HOME/.cache/sessiond-docker}"
BASE_IMAGE=sessiond-base:bookworm
DOCKER=/usr/bin/docker  # Debian's client: the machine's own docker on PATH lacks the builder

# Starts dockerd (one per machine: it is told to leave networking alone) and exports DOCKER_HOST.
start_dockerd() {
  local run="$SCRATCH/docker"
  mkdir -p "$DOCKER_CACHE/data-root" "$run"
  dockerd --data-root "$DOCKER_CACHE/data-root" --exec-root "$run/exec" --pidfile "$run/pid" \
    -H "unix://$run/docker.sock" --storage-driver overlay2 --iptables=false --bridge=none \
    >"$run/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$run/docker.sock"
  for _ in $(seq 100); do "$DOCKER" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "dockerd did not start; its log:" >&2
  cat "$run/dockerd.log" >&2
  return 1
}

# Stops dockerd by its pid and releases the mount it leaves behind.
stop_dockerd() {
  [[ -n "${DOCKERD_PID:-}" ]] || return 0
  kill "$DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
  umount "$SCRATCH/docker/exec/netns/default" 2>/dev/null || true
  DOCKERD_PID=
}

# Imports the Debian 12 minbase image as $BASE_IMAGE unless the engine has it. Its apt sources are
# the host's (this machine is Debian 12).
ensure_base_image() {
  "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  local tar="$DOCKER_CACHE/bookworm-minbase.tar"
  if [[ ! -s "$tar" ]]; then
    echo "docker: making the Debian 12 base image with mmdebstrap" >&2
    mmdebstrap --variant=minbase --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook='rm -f "$1/etc/hostname" "$1/etc/resolv.conf"' \
      bookworm "$tar.tmp" /etc/apt/sources.list.d/debian.sources
    mv "$tar.tmp" "$tar"
  fi
  "$DOCKER" import "$tar" "$BASE_IMAGE" >/dev/null
}
