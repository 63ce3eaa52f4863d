"""The asyncio client on grpc.aio: sessiond.aio.Client and sessiond.aio.Session.

Same model and errors as the blocking sessiond.Client (both run the protocol of sessiond._core),
with one difference: getters never call the server, so a session opened by id must be loaded with
`await session.load()` before its first read (a getter raises NotLoadedError otherwise).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Unpack, cast

import grpc
import grpc.aio

from sessiond._batch import CHANNEL_OPTIONS
from sessiond._core import ClientCore, SessionCore, SessionSettings, watch_request
from sessiond._invalidation_stream import StreamTask
from sessiond._near_cache import NearCache
from sessiond._steps import Rpc, Sleep, Steps, T, advance
from sessiond._turn_batching import TurnBatching
from sessiond._values import SessionValue
from sessiond.errors import SessiondError, from_call
from sessiond.info import SessionPage
from sessiond.v1 import session_pb2 as pb


class NotLoadedError(RuntimeError):
    """A getter was called on an asyncio session that was not loaded: await load() first."""


class Client(ClientCore["Session"]):
    """A connection to sessiond at `address` over one grpc.aio channel, for one event loop; see
    sessiond.Client for the options and errors. The calls made in one turn of the loop are sent
    together in one Batch rpc at its end (see TurnBatching) unless `batching=False`. With a near
    cache, its invalidation stream runs on a task of the loop, from the first read until
    close()."""

    _batcher: TurnBatching
    _stream: StreamTask | None

    def _open_batcher(self) -> TurnBatching:
        return TurnBatching(self._stub, self.options)

    def _open_stream(self, cache: NearCache) -> StreamTask:
        return StreamTask(self._stub, cache)

    def _open_channel(
        self, address: str, credentials: grpc.ChannelCredentials | None
    ) -> grpc.aio.Channel:
        if credentials is not None:
            return grpc.aio.secure_channel(address, credentials, CHANNEL_OPTIONS)
        return grpc.aio.insecure_channel(address, CHANNEL_OPTIONS)

    def _make_session(self, session_id: str, create: pb.CreateSessionRequest | None) -> Session:
        return Session(self, session_id, create)

    async def create(
        self,
        entries: Mapping[str, SessionValue] | None = None,
        *,
        timeout: float | None = None,
        **settings: Unpack[SessionSettings],
    ) -> Session:
        """Creates a session now with `entries` and `settings`; see sessiond.Client.create."""
        session = self._to_create(entries, settings)
        await self._drive(session._create_steps(timeout))
        return session

    async def list_sessions(
        self,
        principal: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
    ) -> SessionPage:
        """As sessiond.Client.list_sessions."""
        return await self._drive(self._list_steps(principal, page_size, page_token, timeout))

    async def revoke_sessions(
        self, principal: str, *, except_ids: Iterable[str] = (), timeout: float | None = None
    ) -> int:
        """As sessiond.Client.revoke_sessions."""
        return await self._drive(self._revoke_steps(principal, except_ids, timeout))

    async def watch_sessions(
        self, from_sequence: int | None = None, *, timeout: float | None = None
    ) -> AsyncIterator[pb.SessionEvent]:
        """As sessiond.Client.watch_sessions, iterated with `async for`."""
        call = self._stub.WatchSessions(watch_request(from_sequence), timeout=timeout)
        try:
            async for message in call:
                for event in message.events:
                    yield event
        except grpc.aio.AioRpcError as rpc_error:
            raise from_call(self.options.address, rpc_error) from rpc_error
        finally:
            call.cancel()

    async def close(self) -> None:
        """Ends the near cache's stream and closes the channel; calls in flight fail with
        CancelledError."""
        if self._stream is not None:
            await self._stream.close()
        await self._channel.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _drive(self, steps: Steps[T], work: Callable[[], Awaitable[Any]] | None = None) -> T:
        """Runs `steps`, awaiting each rpc and pause, and returns their result."""
        outcome: Any = None
        error: SessiondError | None = None
        while True:
            step, result = advance(steps, outcome, error)
            if step is None:
                return cast(T, result)
            outcome, error = None, None
            if isinstance(step, Rpc):
                try:
                    outcome = await self._batcher.call(step.method, step.request, step.timeout)
                except SessiondError as failed:
                    error = failed
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                assert work is not None
                outcome = await work()


class Session(SessionCore):
    """One sessiond session as one request uses it, on asyncio: `await load()`, read and change
    it with the (synchronous, local) getters and setters, `await commit()`. Methods and errors as
    sessiond.Session."""

    _client: Client

    def _ensure_loaded(self) -> None:
        if not self.is_loaded:
            raise NotLoadedError(f"session {self.id[:4]}…: await session.load() before reading")

    async def load(self, timeout: float | None = None) -> None:
        """Loads every entry with one Get unless loaded already; NotFoundError if it is gone."""
        await self._client._drive(self._load_steps(timeout))

    async def reload(self, timeout: float | None = None) -> None:
        """Discards pending changes and loads again."""
        await self._client._drive(self._reload_steps(timeout))

    async def commit(self, timeout: float | None = None) -> None:
        """Sends the pending changes in one rpc; see sessiond.Session.commit."""
        await self._client._drive(self._commit_steps(timeout))

    async def rotate_id(self, timeout: float | None = None) -> None:
        """Moves the session to a new id with the same data (login)."""
        await self._client._drive(self._rotate_steps(timeout))

    async def delete(self, timeout: float | None = None) -> bool:
        """Ends the session (logout); returns whether a live one was deleted."""
        return await self._client._drive(self._delete_steps(timeout))

    async def run(
        self,
        work: Callable[[Session], Awaitable[T]],
        *,
        attempts: int = 3,
        timeout: float | None = None,
    ) -> T:
        """Loads, awaits `work(session)`, commits; on a ConflictError reloads and runs it again,
        `attempts` times in all."""
        return await self._client._drive(self._run_steps(attempts, timeout), lambda: work(self))
