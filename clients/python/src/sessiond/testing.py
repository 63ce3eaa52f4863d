"""Runs a real sessiond for tests (this package's, and apps' own): a binary on a free loopback
port, with the memory store, stopped by its pid."""

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
def run_sessiond(
    *flags: str, binary: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Runs `binary` (default: $SESSIOND_BIN) with --store=memory and `flags` on
    127.0.0.1:<free port>; yields its address (host:port) and process; stops it on exit."""
    binary = binary or os.environ.get("SESSIOND_BIN")
    if not binary:
        raise RuntimeError("set SESSIOND_BIN to the sessiond binary")
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
    """Stops `process` by its pid: SIGCONT (in case a test froze it), SIGTERM, SIGKILL after
    5 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
