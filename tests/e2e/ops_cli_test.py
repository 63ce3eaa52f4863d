#!/usr/bin/env python3
"""The operations command line of the real binary: `sessiond health` exits 0 only while the server
reports SERVING, and --log_format=json writes one JSON object a line, without session ids.

Usage: ops_cli_test.py SESSIOND_BINARY
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

SESSIOND = sys.argv[1]


def _read(path):
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except FileNotFoundError:
        return ""


class Server:
    """A sessiond on a free loopback port, its stderr captured to a file."""

    def __init__(self, test, *flags):
        self.directory = tempfile.TemporaryDirectory()
        test.addCleanup(self.directory.cleanup)
        port_file = os.path.join(self.directory.name, "port")
        self.stderr_path = os.path.join(self.directory.name, "stderr")
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [SESSIOND, "--listen=127.0.0.1:0", f"--port_file={port_file}", *flags],
                stderr=stderr)
        deadline = time.monotonic() + 20
        while not _read(port_file):
            if self.process.poll() is not None:
                raise AssertionError("sessiond exited during start-up")
            if time.monotonic() > deadline:
                raise AssertionError("sessiond did not start in time")
            time.sleep(0.01)
        self.address = f"127.0.0.1:{int(_read(port_file))}"

    def stderr(self):
        return _read(self.stderr_path)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def health(*args):
    return subprocess.run([SESSIOND, "health", *args], capture_output=True, text=True,
                          timeout=30)


class HealthCommandTest(unittest.TestCase):
    def test_serving_server_exits_zero(self):
        server = Server(self, "--drain_grace=0s")
        try:
            result = health(f"--addr={server.address}")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertEqual(result.stdout.strip(), "SERVING")
            result = health(f"--addr={server.address}", "--service=sessiond.v1.SessionService")
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_draining_server_exits_one(self):
        server = Server(self, "--drain_grace=3s")
        try:
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            result = health(f"--addr={server.address}")
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
            self.assertEqual(result.stdout.strip(), "NOT_SERVING")
        finally:
            self.assertEqual(server.stop(), 0)

    def test_unknown_service_and_no_server_exit_one(self):
        server = Server(self, "--drain_grace=0s")
        try:
            result = health(f"--addr={server.address}", "--service=no.such.Service")
            self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        finally:
            self.assertEqual(server.stop(), 0)
        result = health(f"--addr={server.address}", "--timeout=500ms")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertTrue(result.stdout.startswith("UNKNOWN"), result.stdout)

    def test_bad_command_line_exits_two_with_usage(self):
        for args in ([], ["--addr=127.0.0.1:1", "--timeout=soon"], ["--port=1"]):
            result = health(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn("usage: sessiond health", result.stderr)


class JsonLogTest(unittest.TestCase):
    def test_every_line_is_an_object_with_time_level_message(self):
        server = Server(self, "--log_format=json", "--drain_grace=0s")
        result = subprocess.run(
            ["grpcurl", "-plaintext", "-d", "{}", server.address,
             "sessiond.v1.SessionService/CreateSession"],
            capture_output=True, text=True, timeout=30) if _has_grpcurl() else None
        self.assertEqual(server.stop(), 0)
        lines = server.stderr().splitlines()
        self.assertGreaterEqual(len(lines), 3, lines)
        records = [json.loads(line) for line in lines]
        for record in records:
            self.assertEqual(set(record) >= {"time", "level", "message"}, True, record)
            self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(record["level"], ("debug", "info", "warning", "error"))
        serving = [r for r in records if r["message"].startswith("serving on port")]
        self.assertEqual(len(serving), 1, records)
        self.assertEqual(serving[0]["store"], "memory")
        self.assertEqual(records[-1]["message"], "stopped")
        if result is not None and result.returncode == 0:
            session_id = json.loads(result.stdout)["session"]["id"]
            self.assertNotIn(session_id, server.stderr())

    def test_unknown_format_is_refused_naming_the_flag(self):
        result = subprocess.run([SESSIOND, "--log_format=yaml"], capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--log_format=yaml", result.stderr)


def _has_grpcurl():
    return subprocess.run(["sh", "-c", "command -v grpcurl"], capture_output=True).returncode == 0


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
