#!/usr/bin/env bash
# Usage: venv.sh NAME [--extras=EXTRA,...] [PIP-ARGUMENTS...]
# Prints the path of a venv under ~/.cache/sessiond-python holding this client (an editable
# install, so it follows the source) with its EXTRAs, and PIP-ARGUMENTS (pinned packages,
# -r FILE). Created once per key: Python's version, pyproject.toml, the arguments and
# the files they name; concurrent callers wait for each other.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="$1"
shift
client="$here"
if [[ "${1:-}" == --extras=* ]]; then
  client="$here[${1#--extras=}]"
  shift
fi
key="$( (python3 --version; cat "$here/pyproject.toml"; for arg in "$@"; do
  echo "$arg"; if [[ -f "$arg" ]]; then cat "$arg"; fi; done; echo "$client") | sha256sum | cut -c1-16)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/sessiond-python"
venv="$cache/$name-$key"
mkdir -p "$cache"
exec 9>"$venv.lock"
flock 9
if [[ ! -f "$venv/.installed" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -e "$client" "$@" >&2
  touch "$venv/.installed"
fi
echo "$venv"
