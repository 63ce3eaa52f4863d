"""Starts a real sessiond for tests: $SESSIOND_BIN on a free loopback port, stopped by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sessiond(*flags: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Runs `$SESSIOND_BIN --store=memory` with `flags` on 127.0.0.1:<free port>; yields its
    address and process; stops it with SIGTERM (SIGKILL after 5 s)."""
    binary = os.environ.get("SESSIOND_BIN")
    if not binary:
        raise RuntimeError("set SESSIOND_BIN to the sessiond binary (clients/python/test.sh does)")
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        process = subprocess.Popen(
            [
                binary,
                "--listen=127.0.0.1:0",
                f"--port_file={port_file}",
                "--store=memory",
                "--drain_grace=0s",
                *flags,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"sessiond did not start (exit {process.poll()})")
                time.sleep(0.02)
            yield f"127.0.0.1:{port_file.read_text().strip()}", process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops `process` by its pid: SIGCONT (in case a test froze it), SIGTERM, SIGKILL after 5 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
