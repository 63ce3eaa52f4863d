"""The state and protocol of a Session, shared by sessiond.Session and sessiond.aio.Session.

SessionCore keeps what the request loaded and what it changed, answers the typed getters from
them, and expresses every server interaction as the steps of sessiond._steps, which the sync and
the asyncio session drive.
"""

from __future__ import annotations

import base64
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Generic, TypedDict, TypeVar, Unpack

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from sessiond import _values
from sessiond._near_cache import Fill, NearCache, NearCacheStats
from sessiond._steps import Rpc, Sleep, Steps, T, Work
from sessiond._values import JsonValue, SessionValue, ValueKind
from sessiond.errors import LOST_REPLY, ConflictError, NotFoundError
from sessiond.info import SessionInfo, SessionPage
from sessiond.v1 import session_pb2 as pb
from sessiond.v1 import session_pb2_grpc


@dataclass(frozen=True)
class ClientOptions:
    """How a client reaches sessiond: `address` (host:port), the default deadline of each call in
    seconds, how many times in all a mutation whose reply was lost is sent (with one request_id),
    the pause before the first resend (doubling after each), and automatic batching: whether
    unary calls made concurrently are sent together as one Batch rpc, and the most operations and
    serialized request bytes one Batch carries (see sessiond._batch), and the byte bound of the
    near cache (0: off; see sessiond._near_cache)."""

    address: str
    timeout: float = 2.0
    commit_attempts: int = 3
    retry_backoff: float = 0.05
    batching: bool = True
    max_batch_operations: int = 128
    max_batch_bytes: int = 512 * 1024
    near_cache_max_bytes: int = 0

    def call_timeout(self, timeout: float | None) -> float:
        """The deadline of one call in seconds: `timeout` if the caller gave one, else the
        default."""
        return self.timeout if timeout is None else timeout


def new_session_id() -> str:
    """A fresh id to propose for a new session: 24 bytes from the OS's CSPRNG in base64url (32
    characters), for framework stores whose contract makes the web tier choose the id."""
    return base64.urlsafe_b64encode(secrets.token_bytes(24)).decode("ascii")


class SessionSettings(TypedDict, total=False):
    """How a new session is created: its principal (user id), labels (a small string map such as
    the device, shown by list_sessions), idle and absolute timeouts (server defaults when absent),
    and `session_id`, an id to propose (see new_session_id; never one read from a cookie;
    AlreadyExistsError if taken; absent: the server draws one)."""

    principal: str
    labels: Mapping[str, str]
    idle_timeout: timedelta | None
    absolute_timeout: timedelta | None
    session_id: str


def _duration(value: timedelta | None) -> Duration | None:
    if value is None:
        return None
    duration = Duration()
    duration.FromTimedelta(value)
    return duration


def new_request(settings: SessionSettings) -> pb.CreateSessionRequest:
    """The CreateSessionRequest of a new session with these settings and no entries yet."""
    return pb.CreateSessionRequest(
        id=settings.get("session_id", ""),
        principal=settings.get("principal", ""),
        labels=dict(settings.get("labels", {})),
        idle_timeout=_duration(settings.get("idle_timeout")),
        absolute_timeout=_duration(settings.get("absolute_timeout")),
    )


class SessionCore(ABC):
    """One session as one web request uses it: loaded lazily with one Get, changed locally, and
    committed with one rpc carrying the loaded version, so the server rejects the commit only if
    a key it writes was changed by someone else meanwhile. Not thread-safe: one per request.

    A session either exists on the server (opened by id, or created) or is new and unsaved: it
    holds nothing, and the first commit that has something to store creates it under a fresh id
    given by the server.
    """

    def __init__(
        self,
        client: ClientCore[Any],
        session_id: str = "",
        create: pb.CreateSessionRequest | None = None,
    ) -> None:
        """The session `session_id` of `client`, not loaded; or a new unsaved one if `create`
        (what its creation sends, less entries) is set."""
        self._client = client
        self._options = client.options
        self._start(session_id, create)

    def _start(self, session_id: str, create: pb.CreateSessionRequest | None) -> None:
        """Become the session `session_id`, not loaded, or a new unsaved one if `create` is set."""
        self._id = session_id
        # Not None while the session is new and unsaved: what its creation sends, less entries.
        self._create = create
        self._is_new = create is not None
        # The SessionInfo of the last rpc that returned one, converted when first asked for.
        self._info_pb: pb.SessionInfo | None = None
        self._info: SessionInfo | None = None
        self._loaded = create is not None
        # The entries at _read_version as loaded; empty unless _loaded.
        self._entries: dict[str, pb.Value] = {}
        # What Commit sends as read_version: the version the entries the caller may have read were
        # loaded at; None if the session was never loaded.
        self._read_version: int | None = None
        # Pending: whether a clear was recorded, and each key's last set (a Value) or removal
        # (None) since. Removals recorded after a clear are dropped.
        self._cleared = False
        self._changes: dict[str, pb.Value | None] = {}
        # The idempotency key of the pending changes: empty until sent, cleared when they change.
        self._request_id = ""
        self._conflicting_keys: tuple[str, ...] = ()

    @abstractmethod
    def _ensure_loaded(self) -> None:
        """Make the entries available to the getters, or raise."""

    @property
    def id(self) -> str:
        """The session id; empty while the session is new and unsaved."""
        return self._id

    @property
    def is_new(self) -> bool:
        """Whether this object created the session (or is to create it at its first commit)."""
        return self._is_new

    @property
    def is_saved(self) -> bool:
        """Whether the session exists on the server (it has an id)."""
        return self._create is None

    @property
    def is_loaded(self) -> bool:
        """Whether the entries are loaded (always true for a new session)."""
        return self._loaded

    @property
    def info(self) -> SessionInfo | None:
        """Version and expiry times as of the last rpc that returned them; None before any."""
        if self._info is None and self._info_pb is not None:
            self._info = SessionInfo.from_proto(self._info_pb)
        return self._info

    @property
    def conflicting_keys(self) -> tuple[str, ...]:
        """The keys the last failed commit conflicted on (see ConflictError); empty otherwise."""
        return self._conflicting_keys

    def keys(self) -> list[str]:
        """The keys the session holds, pending changes included, sorted. Loads it if needed."""
        return sorted(self._view())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def kind(self, key: str) -> ValueKind | None:
        """The kind of the value of `key`, or None if absent. Loads the session if needed."""
        value = self._find(key)
        return _values.kind_of(value) if value is not None else None

    def get(self, key: str) -> SessionValue:
        """The value of `key` whatever its kind (json parsed), or None if absent."""
        value = self._find(key)
        return _values.from_value(value) if value is not None else None

    def get_string(self, key: str) -> str | None:
        """The string value of `key`; None if absent or of another kind (no conversion)."""
        value = self._find(key, "string")
        return value.string_value if value is not None else None

    def get_bytes(self, key: str) -> bytes | None:
        """The bytes value of `key`; None if absent or of another kind."""
        value = self._find(key, "bytes")
        return value.bytes_value if value is not None else None

    def get_int(self, key: str) -> int | None:
        """The int64 value of `key`; None if absent or of another kind (a bool is not an int)."""
        value = self._find(key, "int")
        return value.int64_value if value is not None else None

    def get_double(self, key: str) -> float | None:
        """The double value of `key`; None if absent or of another kind (an int is not one)."""
        value = self._find(key, "double")
        return value.double_value if value is not None else None

    def get_bool(self, key: str) -> bool | None:
        """The bool value of `key`; None if absent or of another kind."""
        value = self._find(key, "bool")
        return value.bool_value if value is not None else None

    def get_json(self, key: str) -> JsonValue:
        """The parsed json document of `key`; None if absent, of another kind, or JSON null (tell
        them apart with kind())."""
        value = self._find(key, "json")
        return _values.parse_json(value.json_value) if value is not None else None

    def set(self, key: str, value: SessionValue) -> None:
        """Record that `key` is to hold `value`, stored as the table of sessiond._values says.
        Nothing is sent until commit; the server checks keys and sizes then."""
        self._record(key, _values.to_value(value))

    def set_string(self, key: str, value: str) -> None:
        """Record that `key` is to hold the string `value`."""
        self._record(key, pb.Value(string_value=value))

    def set_bytes(self, key: str, value: bytes) -> None:
        """Record that `key` is to hold the bytes `value`."""
        self._record(key, pb.Value(bytes_value=value))

    def set_int(self, key: str, value: int) -> None:
        """Record that `key` is to hold the int64 `value`; ValueError outside int64's range."""
        if isinstance(value, bool) or not _values.INT64_MIN <= value <= _values.INT64_MAX:
            raise ValueError(f"set_int({key!r}): {value!r} is not an int64")
        self._record(key, pb.Value(int64_value=value))

    def set_double(self, key: str, value: float) -> None:
        """Record that `key` is to hold the double `value`."""
        self._record(key, pb.Value(double_value=value))

    def set_bool(self, key: str, value: bool) -> None:
        """Record that `key` is to hold the bool `value`."""
        self._record(key, pb.Value(bool_value=value))

    def set_json(self, key: str, document: JsonValue) -> None:
        """Record that `key` is to hold `document` as JSON text; ValueError for NaN or infinities,
        TypeError for what JSON cannot hold."""
        self._record(key, _values.json_value(document))

    def remove(self, key: str) -> None:
        """Record that `key` is to be removed; absent keys are ignored."""
        if self._cleared:
            self._changes.pop(key, None)
            self._request_id = ""
        else:
            self._record(key, None)

    def clear(self) -> None:
        """Record that every entry is to be removed."""
        self._cleared = True
        self._changes.clear()
        self._request_id = ""

    @property
    def has_pending_changes(self) -> bool:
        """Whether a set, remove or clear was recorded since the last load or commit."""
        return self._cleared or bool(self._changes)

    def pending_commit(self) -> pb.CommitRequest:
        """The CommitRequest commit sends: a clear first if one was recorded, then the last set or
        remove of each key in key order, read_version the version loaded (absent if the session
        was never loaded: blind writes, the last writer wins), and the pending changes'
        request_id (empty until first sent)."""
        request = pb.CommitRequest(id=self._id, request_id=self._request_id)
        if self._read_version is not None:
            request.read_version = self._read_version
        if self._cleared:
            request.ops.add().clear.SetInParent()
        for key in sorted(self._changes):
            value = self._changes[key]
            op = request.ops.add()
            if value is None:
                op.remove.key = key
            else:
                op.set.key = key
                op.set.value.CopyFrom(value)
        return request

    def _record(self, key: str, value: pb.Value | None) -> None:
        self._changes[key] = value
        self._request_id = ""

    def _find(self, key: str, kind: ValueKind | None = None) -> pb.Value | None:
        """The value of `key` with pending changes applied, if it is of `kind` (any if None)."""
        self._ensure_loaded()
        if key in self._changes:
            value = self._changes[key]
        elif self._cleared:
            value = None
        else:
            value = self._entries.get(key)
        if value is None or (kind is not None and _values.kind_of(value) != kind):
            return None
        return value

    def _view(self) -> dict[str, pb.Value]:
        """The entries with pending changes applied."""
        self._ensure_loaded()
        view = {} if self._cleared else dict(self._entries)
        for key, value in self._changes.items():
            if value is None:
                view.pop(key, None)
            else:
                view[key] = value
        return view

    def _adopt(self, info: pb.SessionInfo, entries: dict[str, pb.Value]) -> None:
        """Take `entries` at info.version as the loaded state."""
        self._id = info.id
        self._set_info(info)
        self._entries = entries
        self._read_version = info.version
        self._loaded = True

    def _set_info(self, info: pb.SessionInfo) -> None:
        self._info_pb, self._info = info, None

    def _forget_pending(self) -> None:
        self._cleared = False
        self._changes = {}
        self._request_id = ""

    def _load_steps(self, timeout: float | None, cached: bool = True) -> Steps[None]:
        """Load every entry unless loaded, from the client's near cache if it may serve it (and
        `cached`), else with one Get; keeps pending changes. NotFoundError: the session is
        unknown, expired or deleted."""
        if self._loaded:
            return
        hit = self._client._cached(self._id) if cached else None
        if hit is not None:
            self._adopt(hit.session, dict(hit.entries))
            return
        fill = self._client._start_fill(self._id)
        response: pb.GetResponse | None = None
        try:
            response = yield Rpc(
                "Get", pb.GetRequest(id=self._id), self._options.call_timeout(timeout)
            )
        finally:
            self._client._end_fill(fill, response)
        assert response is not None
        self._adopt(response.session, dict(response.entries))

    def _reload_steps(self, timeout: float | None) -> Steps[None]:
        """Discard pending changes and what was loaded, and load again from the server (a cached
        copy may be what a conflict was about)."""
        self._forget_pending()
        self._conflicting_keys = ()
        if self.is_saved:
            self._loaded = False
            self._entries = {}
        yield from self._load_steps(timeout, cached=False)

    def _mutate(self, method: str, request: Message, timeout: float | None) -> Steps[T]:
        """Send the mutation `request` (see _send_steps). A saved session's near cache entry is
        dropped before sending and after, so no read after the write returns is served a copy
        from before it."""
        self._client._forget(self._id)
        try:
            response: T = yield from self._send_steps(method, request, timeout)
            return response
        finally:
            self._client._forget(self._id)

    def _send_steps(self, method: str, request: Message, timeout: float | None) -> Steps[T]:
        """Send `request` (with its request_id set), again after a lost reply, up to
        commit_attempts times in all with a doubling pause."""
        attempt = 1
        while True:
            try:
                response: T = yield Rpc(method, request, self._options.call_timeout(timeout))
                return response
            except LOST_REPLY:
                if attempt >= self._options.commit_attempts:
                    raise
            yield Sleep(self._options.retry_backoff * 2 ** (attempt - 1))
            attempt += 1

    def _write_through_steps(
        self, request: pb.CommitRequest, timeout: float | None
    ) -> Steps[pb.CommitResponse]:
        """Send the Commit `request` (see _send_steps). The client's near cache updates its copy
        of the session with the commit's operations if that is provably exact, else drops it
        (see NearCache.end_write)."""
        write = self._client._start_write(self._id)
        response: pb.CommitResponse | None = None
        try:
            response = yield from self._send_steps("Commit", request, timeout)
            return response
        finally:
            self._client._end_write(write, request.ops, response)

    def _commit_steps(self, timeout: float | None) -> Steps[None]:
        """Send the pending changes in one rpc (Commit, or CreateSession for a new session with
        something to store); nothing without pending changes. On failure they stay pending."""
        if not self.has_pending_changes:
            return
        if self._create is not None:
            if self._view():
                yield from self._create_steps(timeout)
            self._forget_pending()
            return
        self._request_id = self._request_id or secrets.token_urlsafe(16)
        self._conflicting_keys = ()
        view = self._view()
        alters_entries = _serialized(view) != _serialized(self._entries)
        try:
            response = yield from self._write_through_steps(self.pending_commit(), timeout)
        except ConflictError as conflict:
            self._conflicting_keys = conflict.conflicting_keys
            raise
        expected = self._read_version + alters_entries if self._read_version is not None else None
        self._forget_pending()
        if self._loaded and response.session.version == expected:
            self._adopt(response.session, view)
        else:
            # Others wrote since the load (or nothing was loaded): the next read loads again,
            # and until then commits keep the old read_version.
            self._set_info(response.session)
            self._loaded = False
            self._entries = {}

    def _create_steps(self, timeout: float | None) -> Steps[None]:
        """Create this new unsaved session now, holding what is pending (CreateSession)."""
        assert self._create is not None, "the session exists already"
        self._request_id = self._request_id or secrets.token_urlsafe(16)
        entries = self._view()
        request = pb.CreateSessionRequest()
        request.CopyFrom(self._create)
        request.request_id = self._request_id
        for key, value in entries.items():
            request.entries[key].CopyFrom(value)
        response: pb.CreateSessionResponse = yield from self._mutate(
            "CreateSession", request, timeout
        )
        self._create = None
        self._forget_pending()
        self._adopt(response.session, entries)

    def _rotate_steps(self, timeout: float | None) -> Steps[None]:
        """Move the session to a new id with the same data (RotateId); the old id is dead at once.
        Pending changes stay pending. A new unsaved session has no id to rotate: nothing to do."""
        if not self.is_saved:
            return
        request = pb.RotateIdRequest(id=self._id, request_id=secrets.token_urlsafe(16))
        response: pb.RotateIdResponse = yield from self._mutate("RotateId", request, timeout)
        self._id = response.session.id
        self._set_info(response.session)
        if self._loaded and self._read_version is not None:
            self._read_version += 1  # the rotation itself bumps the version
            if self._read_version != response.session.version:
                self._loaded = False
                self._entries = {}

    def _delete_steps(self, timeout: float | None) -> Steps[bool]:
        """End the session (Delete; idempotent) and return whether a live one was deleted. The
        object becomes a new unsaved session: empty, nothing pending, created again only if
        something is stored and committed."""
        deleted = False
        if self.is_saved:
            request = pb.DeleteRequest(id=self._id, request_id=secrets.token_urlsafe(16))
            response: pb.DeleteResponse = yield from self._mutate("Delete", request, timeout)
            deleted = response.deleted
        principal = self._info_pb.principal if self._info_pb is not None else ""
        self._start("", new_request({"principal": principal}))
        return deleted

    def _run_steps(self, attempts: int, timeout: float | None) -> Steps[T]:
        """Load, run the unit of work, commit; on a conflict reload and run it again, `attempts`
        times in all. Returns the work's result; raises the last ConflictError."""
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        attempt = 1
        while True:
            yield from self._load_steps(timeout)
            result: T = yield Work()
            try:
                yield from self._commit_steps(timeout)
                return result
            except ConflictError:
                if attempt >= attempts:
                    raise
            yield from self._reload_steps(timeout)
            attempt += 1


def _serialized(entries: dict[str, pb.Value]) -> dict[str, bytes]:
    return {key: value.SerializeToString(deterministic=True) for key, value in entries.items()}


S = TypeVar("S", bound=SessionCore)


class ClientSettings(TypedDict, total=False):
    """How a client calls sessiond: the default deadline of each call in seconds (2), how many
    times in all a mutation whose reply was lost is sent with one request_id (3), the pause before
    the first resend in seconds (0.05, doubling after each), `credentials` for TLS (none: a
    plaintext channel), and automatic batching: `batching` (True: calls made concurrently go
    together in one Batch rpc; False: each call is its own rpc), `max_batch_operations` (128) and
    `max_batch_bytes` (512 KiB of serialized requests) per Batch, and `near_cache_max_bytes` (0:
    off): with it, sessions read are kept in process memory up to that many bytes and reads are
    served from there while the invalidation stream holds a lease (see the README)."""

    timeout: float
    commit_attempts: int
    retry_backoff: float
    credentials: grpc.ChannelCredentials | None
    batching: bool
    max_batch_operations: int
    max_batch_bytes: int
    near_cache_max_bytes: int


def watch_request(from_sequence: int | None) -> pb.WatchSessionsRequest:
    """The WatchSessionsRequest from `from_sequence` (None: from now on)."""
    if from_sequence is None:
        return pb.WatchSessionsRequest()
    return pb.WatchSessionsRequest(from_sequence=from_sequence)


class ClientCore(ABC, Generic[S]):
    """What the blocking and the asyncio client share: their options, channel, stub and batcher,
    and making sessions."""

    def __init__(self, address: str, **settings: Unpack[ClientSettings]) -> None:
        defaults = ClientOptions(address)
        self.options = ClientOptions(
            address,
            settings.get("timeout", defaults.timeout),
            settings.get("commit_attempts", defaults.commit_attempts),
            settings.get("retry_backoff", defaults.retry_backoff),
            settings.get("batching", defaults.batching),
            settings.get("max_batch_operations", defaults.max_batch_operations),
            settings.get("max_batch_bytes", defaults.max_batch_bytes),
            settings.get("near_cache_max_bytes", defaults.near_cache_max_bytes),
        )
        self._channel = self._open_channel(address, settings.get("credentials"))
        self._stub: Any = session_pb2_grpc.SessionServiceStub(self._channel)
        self._batcher = self._open_batcher()
        self._near_cache: NearCache | None = None
        self._stream: Any = None
        if self.options.near_cache_max_bytes:
            self._use_near_cache(self.options.near_cache_max_bytes)

    @abstractmethod
    def _open_channel(self, address: str, credentials: grpc.ChannelCredentials | None) -> Any:
        """A channel of this client's kind to `address`: TLS with `credentials`, else plaintext."""

    @abstractmethod
    def _open_batcher(self) -> Any:
        """What sends this client's unary calls on its stub, batched as its options say."""

    @abstractmethod
    def _open_stream(self, cache: NearCache) -> Any:
        """The invalidation stream of this client's kind feeding `cache`, not started."""

    @abstractmethod
    def _make_session(self, session_id: str, create: pb.CreateSessionRequest | None) -> S:
        """A session of this client's kind (see SessionCore's constructor)."""

    def near_cache_stats(self) -> NearCacheStats | None:
        """What the near cache did and holds (see NearCacheStats); None when it is off."""
        return self._near_cache.stats() if self._near_cache is not None else None

    def _use_near_cache(self, max_bytes: int) -> None:
        """Turns the near cache on with `max_bytes` unless it is on already (the framework glue's
        default), and opens its stream (an asyncio client's at its first read if no loop runs)."""
        if self._near_cache is None:
            self._near_cache = NearCache(max_bytes)
            self._stream = self._open_stream(self._near_cache)
            self._stream.start()

    def _cached(self, session_id: str) -> pb.GetResponse | None:
        """The near cache's GetResponse of every key of `session_id`, if it may serve one (None:
        ask the server). A hit renews the session on the server with a Touch sent in the
        background when due (see NearCache.touch_due)."""
        if self._near_cache is None:
            return None
        self._stream.start()
        response = self._near_cache.lookup(session_id)
        if response is not None and self._near_cache.touch_due(session_id):
            self._batcher.start(
                "Touch",
                pb.TouchRequest(id=session_id),
                self.options.timeout,
                partial(self._touched, self._near_cache, session_id),
            )
        return response

    @staticmethod
    def _touched(cache: NearCache, session_id: str, response: Any, error: Exception | None) -> None:
        """A background Touch ended: only NOT_FOUND matters (the session is gone)."""
        cache.touched(
            session_id,
            response.session if error is None else None,
            isinstance(error, NotFoundError),
        )

    def _start_fill(self, session_id: str) -> Fill | None:
        """Registers a Get of `session_id` about to be sent whose answer may fill the cache."""
        if self._near_cache is None:
            return None
        self._stream.start()
        return self._near_cache.start_fill(session_id)

    def _end_fill(self, fill: Fill | None, response: pb.GetResponse | None) -> None:
        """The Get of `fill` returned `response` (None: it failed)."""
        if self._near_cache is not None and fill is not None:
            self._near_cache.end_fill(fill, response)

    def _forget(self, session_id: str) -> None:
        """A write on `session_id` is being sent: its cached copy is dropped."""
        if self._near_cache is not None and session_id:
            self._near_cache.forget(session_id)

    def _start_write(self, session_id: str) -> Fill | None:
        """Registers a Commit of `session_id` about to be sent (see NearCache.start_write)."""
        if self._near_cache is None:
            return None
        return self._near_cache.start_write(session_id)

    def _end_write(
        self, write: Fill | None, ops: Iterable[pb.Operation], response: pb.CommitResponse | None
    ) -> None:
        """The Commit of `write` applying `ops` returned `response` (None: it failed)."""
        if self._near_cache is not None and write is not None:
            self._near_cache.end_write(write, ops, response.session if response else None)

    def session(self, session_id: str) -> S:
        """The existing session `session_id` (for example from a cookie), not loaded yet."""
        return self._make_session(session_id, None)

    def new_session(self, **settings: Unpack[SessionSettings]) -> S:
        """A new unsaved session, created with `settings` by its first commit that has something
        to store; nothing is sent before."""
        return self._make_session("", new_request(settings))

    def _list_steps(
        self, principal: str, page_size: int, page_token: str, timeout: float | None
    ) -> Steps[SessionPage]:
        """ListSessions: one page of `principal`'s live sessions, newest first."""
        request = pb.ListSessionsRequest(
            principal=principal, page_size=page_size, page_token=page_token
        )
        response: pb.ListSessionsResponse = yield Rpc(
            "ListSessions", request, self.options.call_timeout(timeout)
        )
        return SessionPage(
            [SessionInfo.from_proto(info) for info in response.sessions],
            response.next_page_token,
        )

    def _revoke_steps(
        self, principal: str, except_ids: Iterable[str], timeout: float | None
    ) -> Steps[int]:
        """RevokeSessions: end every session of `principal` but `except_ids`; how many ended."""
        request = pb.RevokeSessionsRequest(principal=principal, except_ids=list(except_ids))
        response: pb.RevokeSessionsResponse = yield Rpc(
            "RevokeSessions", request, self.options.call_timeout(timeout)
        )
        return response.revoked

    def _to_create(
        self, entries: Mapping[str, SessionValue] | None, settings: SessionSettings
    ) -> S:
        """A new unsaved session holding `entries` as pending changes, for create()."""
        session = self.new_session(**settings)
        for key, value in (entries or {}).items():
            session.set(key, value)
        return session
