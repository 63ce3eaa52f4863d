#!/usr/bin/env bash
# Regenerates every language client's checked-in stubs from proto/ by running each
# clients/<language>/generate.sh (which installs its own pinned generator). With --check, fails if
# the checked-in stubs differ from what the generators produce now (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for generator in clients/*/generate.sh; do
  echo "generate-clients: $generator"
  "$generator"
done
if [[ "${1:-}" == "--check" ]]; then
  changed="$(git status --porcelain -- clients)"
  if [[ -n "$changed" ]]; then
    echo "generate-clients: the checked-in stubs are stale; run scripts/generate-clients.sh:" >&2
    echo "$changed" >&2
    git diff --stat -- clients >&2
    exit 1
  fi
fi
