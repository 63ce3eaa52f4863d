"""Requests per second of app.py on sessiond vs Flask-Session on Redis, and CPU per request.

For each backend: start the store (sessiond --store=memory, or redis-server without persistence)
and the app under waitress on free loopback ports, create SESSIONS sessions (one request each
without a cookie), then load it with wrk (every request carries one of those cookies, picked at
random), after a warm-up. CPU per request is the utime+stime the process gained during the timed
run (/proc/PID/stat) divided by the requests wrk completed.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TICK = os.sysconf("SC_CLK_TCK")
LUA = """
local cookies = {}
for line in io.lines("%s") do cookies[#cookies + 1] = line end
request = function()
  return wrk.format("GET", "/", {Cookie = cookies[math.random(#cookies)]})
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_http(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_store(
    backend: str, tmp: Path, sessiond_bin: str
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    if backend == "sessiond":
        port_file = tmp / "sessiond.port"
        store = subprocess.Popen(
            [
                sessiond_bin,
                "--listen=127.0.0.1:0",
                f"--port_file={port_file}",
                "--store=memory",
                "--drain_grace=0s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or store.poll() is not None:
                raise RuntimeError("sessiond did not start")
            time.sleep(0.05)
        return store, {"SESSIOND_ADDR": f"127.0.0.1:{port_file.read_text().strip()}"}
    port = free_port()
    store = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    return store, {"REDIS_PORT": str(port)}


def wrk(url: str, script: Path, args: argparse.Namespace, seconds: int) -> tuple[int, int, str]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests, int(errors.group(1)) if errors else 0, out


def run(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    store, env = start_store(backend, tmp, args.sessiond_bin)
    port = free_port()
    app = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "waitress-serve"),
            f"--threads={args.web_threads}",
            f"--listen=127.0.0.1:{port}",
            "app:app",
        ],
        cwd=HERE,
        env={**os.environ, **env, "BACKEND": backend},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url)
        cookies = tmp / f"{backend}.cookies"
        with cookies.open("w") as out:
            for _ in range(args.sessions):
                with urllib.request.urlopen(url) as response:
                    out.write(response.headers["Set-Cookie"].split(";")[0] + "\n")
        script = tmp / f"{backend}.lua"
        script.write_text(LUA % cookies)
        wrk(url, script, args, args.warmup)
        app_cpu, store_cpu = cpu_seconds(app.pid), cpu_seconds(store.pid)
        started = time.monotonic()
        requests, errors, _ = wrk(url, script, args, args.duration)
        elapsed = time.monotonic() - started
        app_cpu, store_cpu = cpu_seconds(app.pid) - app_cpu, cpu_seconds(store.pid) - store_cpu
        return {
            "rps": requests / elapsed,
            "requests": requests,
            "errors": errors,
            "web_us": app_cpu / requests * 1e6,
            "store_us": store_cpu / requests * 1e6,
        }
    finally:
        stop(app)
        stop(store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessiond-bin", default=os.environ.get("SESSIOND_BIN", "sessiond"))
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--web-threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="runs per backend, alternating")
    args = parser.parse_args()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, waitress "
        f"--threads={args.web_threads}, {args.sessions} sessions, {os.cpu_count()} cores"
    )
    print(
        f"{'backend':<10}{'req/s':>10}{'requests':>10}{'non-2xx':>9}"
        f"{'web CPU/req':>14}{'store CPU/req':>15}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for backend in ("sessiond", "redis"):
                result = run(backend, args, Path(tmp))
                print(
                    f"{backend:<10}{result['rps']:>10.0f}{result['requests']:>10.0f}"
                    f"{result['errors']:>9.0f}{result['web_us']:>12.0f}us"
                    f"{result['store_us']:>13.0f}us",
                    flush=True,
                )


if __name__ == "__main__":
    main()
