"""Fixtures: one real sessiond per test session, and a client of each variant."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from sessiond import Client, aio
from sessiond.testing import run_sessiond


@pytest.fixture(scope="session")
def address() -> Iterator[str]:
    """The address of a sessiond (memory store) shared by the tests that do not stop it."""
    with run_sessiond() as (server_address, _):
        yield server_address


_READS = {
    "keys",
    "kind",
    "get",
    "get_string",
    "get_bytes",
    "get_int",
    "get_double",
    "get_bool",
    "get_json",
}


class Blocking:
    """Runs the coroutine methods of a sessiond.aio client or session to completion on `loop`, so
    that one test body checks the blocking and the asyncio variant alike. Reads of an aio session
    load it first, as the blocking session does by itself."""

    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in _READS and not self._target.is_loaded:
                self._loop.run_until_complete(self._target.load())
            if name == "run":
                work = args[0]

                async def run_work(session: Any) -> Any:
                    return work(Blocking(session, self._loop))

                args = (run_work, *args[1:])
            result = attr(*args, **kwargs)
            if inspect.isawaitable(result):
                result = self._loop.run_until_complete(result)
            return Blocking(result, self._loop) if isinstance(result, aio.Session) else result

        return call


def native(target: Any) -> Any:
    """The sessiond.aio object a Blocking wraps (its methods return awaitables), else `target`."""
    return target._target if isinstance(target, Blocking) else target


def together(client: Any, calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs `calls` at once on `client`'s side and returns what each returned or raised, in order.
    For a Blocking (asyncio) client each call returns an awaitable (use native()); they are
    awaited together, so each makes its first rpc in the same loop turn. For a blocking client
    each runs in a thread of its own, all released at once."""
    if isinstance(client, Blocking):

        async def gathered() -> list[Any]:
            return await asyncio.gather(*(call() for call in calls), return_exceptions=True)

        return client._loop.run_until_complete(gathered())
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def wait_until_stopped(pid: int) -> None:
    """Waits (bounded) until every thread of process `pid` is stopped."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = [
            (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
            for task in Path(f"/proc/{pid}/task").iterdir()
        ]
        if all(state == "T" for state in states):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not stop")


@contextmanager
def make_client(variant: str, address: str, **options: Any) -> Iterator[Any]:
    """A sessiond.Client, or a sessiond.aio.Client wrapped in Blocking, for `address`."""
    if variant == "sync":
        with Client(address, **options) as client:
            yield client
        return
    loop = asyncio.new_event_loop()

    async def connect() -> aio.Client:
        return aio.Client(address, **options)

    client = loop.run_until_complete(connect())
    try:
        yield Blocking(client, loop)
    finally:
        loop.run_until_complete(client.close())
        loop.close()


@pytest.fixture(params=["sync", "aio"])
def variant(request: pytest.FixtureRequest) -> str:
    """Which client a test runs against: each test that asks runs for both."""
    return str(request.param)


@pytest.fixture
def client(variant: str, address: str) -> Iterator[Any]:
    """A client of the shared server, of the test's variant."""
    with make_client(variant, address) as connected:
        yield connected
