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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sessiond.testing import run_sessiond, stop

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


@contextmanager
def running_store(
    backend: str, sessiond_bin: str
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """Runs sessiond (memory store) or redis-server (no persistence) on a free loopback port;
    yields the process and the app's environment for it."""
    if backend == "sessiond":
        with run_sessiond(binary=sessiond_bin) as (address, process):
            yield process, {"SESSIOND_ADDR": address}
        return
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*command, "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        ping = ["redis-cli", "-p", str(port), "ping"]
        while subprocess.run(ping, capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield process, {"REDIS_PORT": str(port)}
    finally:
        stop(process)


def wrk(
    url: str, script: Path, args: argparse.Namespace, seconds: int
) -> tuple[int, int, str]:
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
    with running_store(backend, args.sessiond_bin) as (store, env):
        return measure(backend, store, env, args, tmp)


def measure(
    backend: str,
    store: subprocess.Popen[bytes],
    env: dict[str, str],
    args: argparse.Namespace,
    tmp: Path,
) -> dict[str, float]:
    """Starts the app on `store`, creates the sessions, loads it with wrk and measures."""
    port = free_port()
    log = tmp / f"{backend}.log"
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
        stderr=log.open("w"),
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
        app_cpu, store_cpu = (
            cpu_seconds(app.pid) - app_cpu,
            cpu_seconds(store.pid) - store_cpu,
        )
        return {
            "rps": requests / elapsed,
            "requests": requests,
            "errors": errors,
            "web_us": app_cpu / requests * 1e6,
            "store_us": store_cpu / requests * 1e6,
        }
    except Exception:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sessiond-bin", default=os.environ.get("SESSIOND_BIN", "sessiond")
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--web-threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs per backend, alternating"
    )
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
