"""A process with a caching client, for the SIGSTOP test of test_near_cache.py. It prints "leased"
once its invalidation stream holds a lease, then answers each line "read ID" of its stdin with
"version V hits H" (H: the cache's hits so far) or "gone", until stdin ends. The server address
is SESSIOND_ADDR.
"""

from __future__ import annotations

import os
import sys
import time

from sessiond import Client, NotFoundError


def main() -> int:
    with Client(os.environ["SESSIOND_ADDR"], near_cache_max_bytes=1 << 20) as client:
        deadline = time.monotonic() + 5
        while not client.near_cache_stats().leased:  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                return 1
            time.sleep(0.005)
        print("leased", flush=True)
        for line in sys.stdin:
            session = client.session(line.split()[1])
            try:
                session.load()
            except NotFoundError:
                print("gone", flush=True)
                continue
            stats = client.near_cache_stats()
            assert stats is not None and session.info is not None
            print(f"version {session.info.version} hits {stats.hits}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
