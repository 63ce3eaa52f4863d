#!/usr/bin/env python3
"""Runs the README's grpcurl examples with the real grpcurl against a real sessiond and checks them.

Usage: readme_grpcurl_test.py SESSIOND_BINARY README_PATH GRPCURL_BINARY

The block between the grpcurl-examples markers is split into commands (a trailing backslash joins
lines), `localhost:50051` is pointed at a sessiond started on a free port, and the commands run in
one bash, so that `ID=...` carries over, with each one's output captured separately.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

SESSIOND, README, GRPCURL = sys.argv[1:4]
if not os.access(GRPCURL, os.X_OK):
    sys.exit(f"grpcurl was not found when the build was configured ({GRPCURL}); "
             "scripts/install-deps.sh --test installs it, then re-run cmake")
MARKER = "@@sessiond-readme-test-end-of-command@@"


def readme_commands(name):
    with open(README, encoding="utf-8") as readme:
        text = readme.read()
    block = re.search(
        rf"<!-- {name}:begin -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    if block is None:
        raise AssertionError(f"README.md has no {name} block")
    return [c.strip() for c in block.group(1).replace("\\\n", " ").splitlines() if c.strip()]


class ReadmeGrpcurlTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        port_file = os.path.join(self.directory.name, "port")
        self.server = subprocess.Popen(
            [SESSIOND, "--listen=127.0.0.1:0", f"--port_file={port_file}", "--drain_grace=0s"])
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            self.assertIsNone(self.server.poll(), "sessiond exited during start-up")
            self.assertLess(time.monotonic(), deadline, "sessiond did not start in time")
            time.sleep(0.01)
        with open(port_file, encoding="utf-8") as port:
            self.port = int(port.read())

    def tearDown(self):
        self.server.terminate()
        self.assertEqual(self.server.wait(timeout=30), 0, "sessiond did not exit 0 on SIGTERM")
        self.directory.cleanup()

    def run_readme_block(self, name):
        commands = readme_commands(name)
        script = "set -euo pipefail\n" + "".join(
            c.replace("localhost:50051", f"127.0.0.1:{self.port}") + f"\necho {MARKER}\n"
            for c in commands)
        env = dict(os.environ, PATH=os.path.dirname(GRPCURL) + os.pathsep + os.environ["PATH"])
        result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                                timeout=120)
        self.assertEqual(result.returncode, 0, f"README block failed:\n{result.stderr}")
        outputs = result.stdout.split(MARKER + "\n")[:-1]
        self.assertEqual(len(outputs), len(commands))
        return commands, outputs

    def test_readme_examples_produce_what_the_readme_says(self):
        commands, outputs = self.run_readme_block("grpcurl-examples")
        self.assertEqual(len(commands), 7, "README examples changed: update this test with them")
        listed = outputs[0].split()
        for service in ("sessiond.v1.SessionService", "grpc.health.v1.Health"):
            self.assertIn(service, listed)
        self.assertIn("rpc Commit", outputs[1])
        self.assertEqual(outputs[2], "", "CreateSession's id goes into $ID")
        self.assertEqual(json.loads(outputs[3])["session"]["version"], "2")
        got = json.loads(outputs[4])
        self.assertEqual(got["session"]["version"], "2")
        self.assertEqual(got["session"]["principal"], "alice")
        self.assertRegex(got["session"]["id"], r"^[A-Za-z0-9_-]{32}$")
        self.assertEqual(got["entries"], {"theme": {"string_value": "dark"},
                                          "cart_items": {"int64_value": "3"}})
        touched, malformed = json.loads(outputs[5])["results"]
        self.assertEqual(touched["touch"]["session"]["id"], got["session"]["id"])
        self.assertNotIn("code", touched)
        self.assertEqual(malformed["code"], 3)
        self.assertEqual(malformed["message"],
                         "id: 4 characters; a session id is 32 base64url characters")
        self.assertEqual(json.loads(outputs[6]), {"status": "SERVING"})

    def test_log_out_everywhere_else_and_watch(self):
        commands, outputs = self.run_readme_block("grpcurl-user-sessions")
        self.assertEqual(len(commands), 5, "README examples changed: update this test with them")
        listed = json.loads(outputs[2])["sessions"]
        self.assertEqual([s["labels"]["device"] for s in listed], ["laptop", "phone"])
        for session in listed:
            self.assertEqual(session["principal"], "alice")
            self.assertIn("last_access_at", session)
            self.assertNotIn("entries", session)
        self.assertEqual(json.loads(outputs[3]), {"revoked": "1"})
        decoder, text, events = json.JSONDecoder(), outputs[4].strip(), []
        while text:  # one JSON object per message, each a batch of events
            message, end = decoder.raw_decode(text)
            events.extend(message["events"])
            text = text[end:].strip()
        self.assertEqual([(e["sequence"], e["kind"]) for e in events],
                         [("1", "CREATED"), ("2", "CREATED"), ("3", "REVOKED")])
        self.assertEqual(events[2]["reason"], "REVOKED")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
