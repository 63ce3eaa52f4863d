"""Runs the language drivers of tests/interop/drivers/ (protocol: tests/interop/README.md).

Every call is bounded: a driver that outlives its timeout is killed with its whole process group
(drivers are often shell scripts that start a program)."""

import os
import queue
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass


def discover(directory):
    """The executable files of `directory`, sorted by name, as Drivers."""
    names = sorted(
        name for name in os.listdir(directory)
        if not name.startswith(".") and os.path.isfile(os.path.join(directory, name))
        and os.access(os.path.join(directory, name), os.X_OK))
    return [Driver(name, os.path.join(directory, name)) for name in names]


@dataclass
class Outcome:
    """How a driver call ended: its exit code (None if it was killed at its timeout) and output."""
    code: object
    stdout: str
    stderr: str

    def describe(self):
        """One paragraph for a failure report: how it ended and what it printed on stderr."""
        how = "timed out" if self.code is None else f"exit {self.code}"
        detail = self.stderr.strip() or self.stdout.strip() or "(no output)"
        return f"{how}: {detail}"


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Driver:
    """One language's driver executable, called with SESSIOND_ADDR set to `address`."""

    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.address = None

    def _env(self):
        return dict(os.environ, SESSIOND_ADDR=self.address)

    def run(self, args, timeout):
        """Runs the driver with `args` to completion (at most `timeout` seconds): an Outcome."""
        process = subprocess.Popen([self.path, *args], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=self._env(), start_new_session=True, text=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            return Outcome(process.returncode, stdout, stderr)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            stdout, stderr = process.communicate()
            return Outcome(None, stdout, stderr)

    def start(self, args):
        """Starts the driver with `args` for a dialogue on stdin/stdout: an Interactive."""
        return Interactive(self, args)


class Interactive:
    """A running driver whose stdout is read line by line, each line waited for with a timeout."""

    def __init__(self, driver, args):
        self._stderr = tempfile.TemporaryFile("w+")
        self._process = subprocess.Popen([driver.path, *args], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr,
                                         env=driver._env(), start_new_session=True, text=True)
        self._lines = queue.Queue()
        self._stdout = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, timeout):
        """The next line the driver prints; None if it printed none within `timeout` seconds or
        closed its stdout."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self._stdout.append(line)
        return line

    def send(self, line):
        """Writes `line` and a newline to the driver's stdin."""
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass

    def finish(self, timeout):
        """Waits at most `timeout` seconds for the driver to exit (then kills it): an Outcome."""
        try:
            self._process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            code = self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(self._process)
            self._process.wait()
            code = None
        while (line := self.next_line(1)) is not None:
            pass
        self._stderr.seek(0)
        outcome = Outcome(code, "\n".join(self._stdout), self._stderr.read())
        self._stderr.close()
        return outcome
