"""The blocking client: sessiond.Client and sessiond.Session (see sessiond.aio for asyncio)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Unpack, cast

import grpc

from sessiond._batch import CHANNEL_OPTIONS
from sessiond._core import ClientCore, SessionCore, SessionSettings, watch_request
from sessiond._group_commit import GroupCommit
from sessiond._invalidation_stream import StreamThread
from sessiond._near_cache import NearCache
from sessiond._steps import Rpc, Sleep, Steps, T, advance
from sessiond._values import SessionValue
from sessiond.errors import SessiondError, from_call
from sessiond.info import SessionPage
from sessiond.v1 import session_pb2 as pb


class Client(ClientCore["Session"]):
    """A connection to sessiond at `address` (host:port) over one gRPC channel, configured by
    ClientSettings (`timeout`, `commit_attempts`, `retry_backoff`, `credentials`, `batching`,
    `max_batch_operations`, `max_batch_bytes`, `near_cache_max_bytes`): create one per process
    and share it between threads. Every call has a deadline: `timeout` seconds unless the call
    says otherwise. Calls made while another is in flight are sent together in one Batch rpc
    (group commit; see GroupCommit) unless `batching=False`. With a near cache, its invalidation
    stream runs on a daemon thread until close(). A server that cannot be reached fails calls at
    once with UnavailableError naming the address."""

    _batcher: GroupCommit
    _stream: StreamThread | None

    def _open_batcher(self) -> GroupCommit:
        return GroupCommit(self._stub, self.options)

    def _open_stream(self, cache: NearCache) -> StreamThread:
        return StreamThread(self._stub, cache)

    def _open_channel(
        self, address: str, credentials: grpc.ChannelCredentials | None
    ) -> grpc.Channel:
        if credentials is not None:
            return grpc.secure_channel(address, credentials, CHANNEL_OPTIONS)
        return grpc.insecure_channel(address, CHANNEL_OPTIONS)

    def _make_session(self, session_id: str, create: pb.CreateSessionRequest | None) -> Session:
        return Session(self, session_id, create)

    def create(
        self,
        entries: Mapping[str, SessionValue] | None = None,
        *,
        timeout: float | None = None,
        **settings: Unpack[SessionSettings],
    ) -> Session:
        """Creates a session now with `entries` (stored as Session.set does) and `settings` (see
        SessionSettings) and returns it loaded at version 1. Raises InvalidArgumentError,
        AlreadyExistsError, SessiondError(RESOURCE_EXHAUSTED), ..."""
        session = self._to_create(entries, settings)
        self._drive(session._create_steps(timeout))
        return session

    def list_sessions(
        self,
        principal: str,
        *,
        page_size: int = 0,
        page_token: str = "",
        timeout: float | None = None,
    ) -> SessionPage:
        """One page of `principal`'s live sessions (labels and last access, never entries),
        newest first; `page_size` 0 asks for the server's default (50), `page_token` continues
        from the previous page's next_page_token."""
        return self._drive(self._list_steps(principal, page_size, page_token, timeout))

    def revoke_sessions(
        self, principal: str, *, except_ids: Iterable[str] = (), timeout: float | None = None
    ) -> int:
        """Ends every session of `principal` but `except_ids` ("log out everywhere else"), each
        atomically; returns how many ended."""
        return self._drive(self._revoke_steps(principal, except_ids, timeout))

    def watch_sessions(
        self, from_sequence: int | None = None, *, timeout: float | None = None
    ) -> Iterator[pb.SessionEvent]:
        """The session events from `from_sequence` on (None: from now on), one by one (the server
        sends them in batches), for as long as the caller iterates; closing the iterator ends the
        stream. No deadline unless `timeout` (seconds) is given. Raises OutOfRangeError when the
        sequence is outside the server's log (resynchronise), SessiondError(RESOURCE_EXHAUSTED)
        when this watcher fell behind, UnavailableError when the server drains: resume from the
        last event's sequence + 1."""
        call = self._stub.WatchSessions(watch_request(from_sequence), timeout=timeout)
        try:
            for message in call:
                yield from message.events
        except grpc.RpcError as rpc_error:
            raise from_call(self.options.address, cast(grpc.Call, rpc_error)) from rpc_error
        finally:
            call.cancel()

    def close(self) -> None:
        """Ends the near cache's stream and closes the channel; calls in flight fail with
        CancelledError."""
        if self._stream is not None:
            self._stream.close()
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _drive(self, steps: Steps[T], work: Callable[[], Any] | None = None) -> T:
        """Runs `steps`, blocking on each rpc and pause, and returns their result."""
        outcome: Any = None
        error: SessiondError | None = None
        while True:
            step, result = advance(steps, outcome, error)
            if step is None:
                return cast(T, result)
            outcome, error = None, None
            if isinstance(step, Rpc):
                try:
                    outcome = self._batcher.call(step.method, step.request, step.timeout)
                except SessiondError as failed:
                    error = failed
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                assert work is not None
                outcome = work()


class Session(SessionCore):
    """One sessiond session as one request uses it (see SessionCore for the model): reads load it
    lazily with one Get; setters, remove and clear only record; commit sends them in one rpc.

    Typical request::

        session = client.session(session_id)
        visits = session.get_int("visits") or 0   # loads
        session.set_int("visits", visits + 1)      # local
        session.commit()                           # one rpc; ConflictError names the keys

    Not thread-safe. Every method that calls the server takes an optional `timeout` (seconds).
    """

    _client: Client

    def _ensure_loaded(self) -> None:
        self.load()

    def load(self, timeout: float | None = None) -> None:
        """Loads every entry with one Get unless loaded already; keeps pending changes. Raises
        NotFoundError if the session is unknown, expired or deleted."""
        self._client._drive(self._load_steps(timeout))

    def reload(self, timeout: float | None = None) -> None:
        """Discards pending changes and loads again: what to do after a ConflictError before
        redoing the request's logic on fresh values."""
        self._client._drive(self._reload_steps(timeout))

    def commit(self, timeout: float | None = None) -> None:
        """Sends the pending changes in one rpc with the loaded version as read_version; nothing
        when none are pending. A lost reply (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) is resent
        with the same request_id, so it applies at most once. On failure the changes stay pending:
        ConflictError names the written keys others changed; NotFoundError; InvalidArgumentError;
        after a lost-reply error the commit may have applied: commit again to find out."""
        self._client._drive(self._commit_steps(timeout))

    def rotate_id(self, timeout: float | None = None) -> None:
        """Moves the session to a new id with the same data (call it at login); the old id is
        dead at once. Nothing to do for a new unsaved session."""
        self._client._drive(self._rotate_steps(timeout))

    def delete(self, timeout: float | None = None) -> bool:
        """Ends the session (logout) and returns whether a live one was deleted; the object is then
        a new unsaved session."""
        return self._client._drive(self._delete_steps(timeout))

    def run(
        self,
        work: Callable[[Session], T],
        *,
        attempts: int = 3,
        timeout: float | None = None,
    ) -> T:
        """Loads the session, runs `work(session)`, commits; on a ConflictError reloads and runs it
        again, `attempts` times in all. Returns work's result; raises the last ConflictError."""
        return self._client._drive(self._run_steps(attempts, timeout), lambda: work(self))
