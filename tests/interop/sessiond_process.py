"""A sessiond started for a test: memory store, a free loopback port, stopped by its pid."""

import os
import signal
import subprocess
import tempfile
import time


class Sessiond:
    """Runs `binary` on 127.0.0.1 with the memory store while the `with` block runs.

    `flags` are added to the command line; `preexec_fn` runs in the child before exec (for limits).

    `address` is "127.0.0.1:PORT" once started. Start-up waits at most `start_timeout` seconds for
    the port file; stopping sends SIGTERM, then SIGKILL after `stop_timeout` seconds.
    """

    def __init__(self, binary, start_timeout=15.0, stop_timeout=5.0, flags=(), preexec_fn=None):
        self.binary = binary
        self.flags = list(flags)
        self.preexec_fn = preexec_fn
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.address = None
        self._directory = None
        self._process = None
        self._log = None

    def __enter__(self):
        self._directory = tempfile.TemporaryDirectory(prefix="sessiond-interop-")
        port_file = os.path.join(self._directory.name, "port")
        self._log = open(os.path.join(self._directory.name, "sessiond.log"), "w+b")
        self._process = subprocess.Popen(
            [self.binary, "--listen=127.0.0.1:0", f"--port_file={port_file}", "--store=memory",
             "--drain_grace=0s", *self.flags],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=self.preexec_fn)
        try:
            self.address = f"127.0.0.1:{self._wait_for_port(port_file)}"
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_for_port(self, port_file):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"sessiond exited with {self._process.returncode}:\n{self.log()}")
            try:
                with open(port_file) as f:
                    port = f.read().strip()
                if port:
                    return int(port)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sessiond wrote no port file within {self.start_timeout} s:\n{self.log()}")

    @property
    def pid(self):
        return self._process.pid

    def log(self):
        """The server's output so far (for error messages)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __exit__(self, *exc):
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.kill(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._log.close()
        self._directory.cleanup()
        return False
