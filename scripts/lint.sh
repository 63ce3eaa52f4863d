#!/usr/bin/env bash
# Static checks over our C++ code (called by scripts/test.sh after the build):
#   - clang-format: every tracked .h/.cc is formatted as .clang-format says;
#   - clang's -Wthread-safety over storage/ and service/, whose locks are annotated
#     (ABSL_GUARDED_BY...); GCC ignores those annotations, so only clang can check them.
# Needs build/compile_commands.json (scripts/build.sh writes it) and clang (install-deps --test).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "lint: clang-format"
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

echo "lint: clang -Wthread-safety (storage/, service/)"
python3 - <<'PY'
import json, os, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

root = os.getcwd()
commands = json.load(open("build/compile_commands.json"))
jobs = []
for entry in commands:
    source = os.path.relpath(entry["file"], root)
    if not source.startswith(("storage/", "service/")) or "/gen/" in source:
        continue
    args = shlex.split(entry["command"])
    # Keep the defines, include paths and language standard; compile nothing, check locks.
    kept = []
    for i, arg in enumerate(args):
        if arg == "-isystem":
            kept += [arg, args[i + 1]]
        elif arg.startswith(("-D", "-I", "-std=")):
            kept.append(arg)
    jobs.append((source, ["clang++", "-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
                          *kept, entry["file"]], entry["directory"]))

def check(job):
    source, argv, directory = job
    result = subprocess.run(argv, cwd=directory, capture_output=True, text=True)
    return source, result.returncode, result.stderr

failed = 0
with ThreadPoolExecutor(max_workers=2) as pool:
    for source, code, stderr in pool.map(check, jobs):
        if code != 0:
            failed += 1
            sys.stderr.write(f"--- {source}\n{stderr}")
print(f"lint: thread-safety checked {len(jobs)} files, {failed} with errors")
sys.exit(1 if failed else 0)
PY
