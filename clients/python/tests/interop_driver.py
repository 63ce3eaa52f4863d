"""The Python driver of the cross-language matrix (tests/interop/README.md), on the public API.

    write VECTORS                  create a session holding every vector; print its id
    read VECTORS ID                check session ID holds exactly the vectors (typed)
    commit-after-go ID KEY VALUE   load, print "loaded V", wait for "go", set KEY, commit; print
                                   "committed V" or "conflict K[,K...]"

The server address is SESSIOND_ADDR (127.0.0.1:PORT). Exit 0 on success, 1 with the error (or one
line per mismatch) on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import vectors
from sessiond import Client, ConflictError, SessiondError


def main(args: list[str]) -> int:
    with Client(os.environ["SESSIOND_ADDR"]) as client:
        if len(args) == 2 and args[0] == "write":
            session = client.new_session()
            vectors.write(session, vectors.load(Path(args[1])))
            session.commit()
            print(session.id)
            return 0
        if len(args) == 3 and args[0] == "read":
            problems = vectors.mismatches(client.session(args[2]), vectors.load(Path(args[1])))
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        if len(args) == 4 and args[0] == "commit-after-go":
            session = client.session(args[1])
            session.load()
            print(f"loaded {session.info.version if session.info else 0}", flush=True)
            if sys.stdin.readline().strip() != "go":
                print("commit-after-go: expected a line 'go' on stdin", file=sys.stderr)
                return 1
            session.set_string(args[2], args[3])
            try:
                session.commit()
            except ConflictError as conflict:
                print(f"conflict {','.join(conflict.conflicting_keys)}")
                return 0
            print(f"committed {session.info.version if session.info else 0}")
            return 0
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SessiondError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
