"""Fixtures: one real sessiond per test session, and a client of each variant."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
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
