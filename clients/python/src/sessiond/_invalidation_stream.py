"""The WatchInvalidations stream that feeds a client's near cache (see sessiond._near_cache): one
per client, reconnected with backoff while the client is open. StreamThread runs it on a daemon
thread for the blocking client; StreamTask on an asyncio task for sessiond.aio. Failures of the
stream never reach callers: the cache just serves nothing until a new stream's first grant.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import grpc.aio

from sessiond._near_cache import NearCache
from sessiond.v1 import session_pb2 as pb

FIRST_BACKOFF = 0.05
"""Seconds before reconnecting after a stream broke; doubles after each failed attempt."""

MAX_BACKOFF = 5.0
"""The longest pause between two attempts (seconds)."""


def _next_backoff(backoff: float, granted: bool) -> float:
    """The pause after the next failure: the first again if the stream got a grant, else double."""
    return FIRST_BACKOFF if granted else min(backoff * 2, MAX_BACKOFF)


def _jittered(backoff: float) -> float:
    """A pause of 50 to 100 % of `backoff`, so that many clients do not reconnect together."""
    return backoff * random.uniform(0.5, 1.0)


class StreamThread:
    """Runs the stream of `stub` (a blocking SessionServiceStub) for `cache` on a daemon thread,
    from start() until close()."""

    def __init__(self, stub: Any, cache: NearCache) -> None:
        self._stub = stub
        self._cache = cache
        self._lock = threading.Lock()
        self._started = self._closed = False
        # Set when the current stream is to stop (it ended, or the client closes): its pings stop.
        self._stop = threading.Event()
        self._call: Any = None
        self._thread = threading.Thread(target=self._run, name="sessiond-near-cache", daemon=True)

    def start(self) -> None:
        """Opens the stream on the thread, unless it runs already or the client closed."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        self._thread.start()

    def close(self) -> None:
        """Ends the stream and the thread, and waits (briefly) for the thread to end."""
        with self._lock:
            self._closed = True
            self._stop.set()
            if self._call is not None:
                self._call.cancel()
        if self._thread.is_alive():
            self._thread.join(1.0)

    def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            granted = self._serve()
            self._cache.on_break()
            backoff = _next_backoff(backoff, granted)
            with self._lock:
                if self._closed:
                    return
                stop = self._stop = threading.Event()
            if stop.wait(_jittered(backoff)):
                return

    def _serve(self) -> bool:
        """Runs one stream until it ends; returns whether the server granted a ping on it."""
        with self._lock:
            if self._closed:
                return False
            self._cache.on_open()
            call = self._call = self._stub.WatchInvalidations(self._pings(self._stop))
        granted = False
        try:
            for response in call:
                self._cache.on_response(response)
                granted = granted or response.granted_ping != 0
        except grpc.RpcError:
            pass  # the stream broke: the caller drops the cache and reconnects
        finally:
            self._stop.set()
            call.cancel()
        return granted

    def _pings(self, stop: threading.Event) -> Iterator[pb.LeaseRequest]:
        """The stream's requests: a ping now and then every quarter lease, until `stop`."""
        while not stop.is_set():
            yield self._cache.next_ping()
            stop.wait(self._cache.ping_interval())


class StreamTask:
    """Runs the stream of `stub` (a grpc.aio SessionServiceStub) for `cache` on a task of the
    running event loop, from start() until close()."""

    def __init__(self, stub: Any, cache: NearCache) -> None:
        self._stub = stub
        self._cache = cache
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def start(self) -> None:
        """Opens the stream on a task of the running loop, unless it runs already or closed, or
        no loop is running (then the first read starts it)."""
        if self._task is not None or self._closed:
            return
        with contextlib.suppress(RuntimeError):  # no running loop
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Ends the stream: cancels the task and waits for it."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = FIRST_BACKOFF
        while True:
            granted = await self._serve()
            backoff = _next_backoff(backoff, granted)
            await asyncio.sleep(_jittered(backoff))

    async def _serve(self) -> bool:
        """Runs one stream until it ends; returns whether the server granted a ping on it."""
        call = self._stub.WatchInvalidations()
        self._cache.on_open()
        pings = asyncio.get_running_loop().create_task(self._ping(call))
        granted = False
        try:
            async for response in call:
                self._cache.on_response(response)
                granted = granted or response.granted_ping != 0
        except grpc.aio.AioRpcError:
            pass  # the stream broke: drop the cache and reconnect
        finally:
            pings.cancel()
            call.cancel()
            self._cache.on_break()
        return granted

    async def _ping(self, call: Any) -> None:
        """Sends a ping now and then every quarter lease, until the stream ends."""
        with contextlib.suppress(
            grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError
        ):
            while True:
                await call.write(self._cache.next_ping())
                await asyncio.sleep(self._cache.ping_interval())
