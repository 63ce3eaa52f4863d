"""Requests per second of app.py on sessiond (near cache off and on) vs Flask-Session on Redis,
p99 latency, and CPU per request.

For each variant: start the store (sessiond --store=memory, or redis-server without persistence)
and the app under waitress on free loopback ports, create SESSIONS sessions (one request each
without a cookie), then load it with wrk (every request carries one of those cookies, picked at
random; --read-percent of the requests only read the session, the others read it and write one
key), after a warm-up. CPU per request is the utime+stime the process gained during the timed
run (/proc/PID/stat) divided by the requests wrk completed.
"""

from __future__ import annotations

import argparse
import json
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
  local path = "/"
  if math.random(100) <= %d then path = "/read" end
  return wrk.format("GET", path, {Cookie = cookies[math.random(#cookies)]})
end
"""
VARIANTS = {
    "sessiond": ("sessiond", 0),
    "sessiond+nc": ("sessiond", 16 * 1024 * 1024),
    "redis": ("redis", 0),
}
"""Each variant's backend and near cache bound: sessiond.flask without and with its near
cache (16 MiB, the glue's default), and Flask-Session on Redis."""


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
) -> tuple[int, int, float]:
    """Runs wrk: the requests completed, the non-2xx among them and the p99 latency in ms."""
    out = subprocess.run(
        [
            "wrk",
            "--latency",
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
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert p99 is not None, out
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return requests, int(errors.group(1)) if errors else 0, p99_ms


def near_cache(url: str, backend: str) -> tuple[int, int]:
    """The app's near cache hits and misses so far ((0, 0) on Redis)."""
    if backend != "sessiond":
        return 0, 0
    with urllib.request.urlopen(url + "near-cache") as response:
        stats = json.load(response)
    return stats["hits"], stats["misses"]


def run(variant: str, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    backend, near_cache_max_bytes = VARIANTS[variant]
    with running_store(backend, args.sessiond_bin) as (store, env):
        env["NEAR_CACHE_MAX_BYTES"] = str(near_cache_max_bytes)
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
        script.write_text(LUA % (cookies, args.read_percent))
        wrk(url, script, args, args.warmup)
        app_cpu, store_cpu = cpu_seconds(app.pid), cpu_seconds(store.pid)
        cache_before = near_cache(url, backend)
        started = time.monotonic()
        requests, errors, p99_ms = wrk(url, script, args, args.duration)
        elapsed = time.monotonic() - started
        cache_after = near_cache(url, backend)
        hits = cache_after[0] - cache_before[0]
        misses = cache_after[1] - cache_before[1]
        app_cpu, store_cpu = (
            cpu_seconds(app.pid) - app_cpu,
            cpu_seconds(store.pid) - store_cpu,
        )
        return {
            "rps": requests / elapsed,
            "requests": requests,
            "errors": errors,
            "p99_ms": p99_ms,
            "hit_percent": 100 * hits / (hits + misses) if hits + misses else 0.0,
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
        "--read-percent",
        type=int,
        default=0,
        help="requests that only read the session (the others read it and write one key)",
    )
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"a subset of {','.join(VARIANTS)}",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs per backend, alternating"
    )
    args = parser.parse_args()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, waitress "
        f"--threads={args.web_threads}, {args.sessions} sessions, {os.cpu_count()} cores, "
        f"{args.read_percent} % read-only requests"
    )
    print(
        f"{'variant':<13}{'req/s':>8}{'requests':>10}{'non-2xx':>9}{'p99':>10}"
        f"{'web CPU/req':>14}{'store CPU/req':>15}{'cache hits':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for variant in args.variants.split(","):
                result = run(variant, args, Path(tmp))
                print(
                    f"{variant:<13}{result['rps']:>8.0f}{result['requests']:>10.0f}"
                    f"{result['errors']:>9.0f}{result['p99_ms']:>8.1f}ms"
                    f"{result['web_us']:>12.0f}us{result['store_us']:>13.0f}us"
                    f"{result['hit_percent']:>11.0f}%",
                    flush=True,
                )


if __name__ == "__main__":
    main()
