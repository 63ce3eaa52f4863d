#!/usr/bin/env bash
# The Python client's suite: installs the package and its pinned dev tools into a venv under
# ~/.cache (venv.sh: idempotent, keyed by pyproject.toml), checks formatting (ruff format), lint
# (ruff check) and types (mypy --strict), then runs pytest against a real sessiond ($SESSIOND_BIN,
# default the repository's build/service/sessiond).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export SESSIOND_BIN="${SESSIOND_BIN:-$repo/build/service/sessiond}"
[[ -x "$SESSIOND_BIN" ]] || { echo "clients/python: $SESSIOND_BIN is not built" >&2; exit 1; }
venv="$("$here/venv.sh" test --extras=dev)"
cd "$here"
"$venv/bin/ruff" format --check .
"$venv/bin/ruff" check .
"$venv/bin/mypy"
"$venv/bin/pytest" -q "$@"
