"""The near cache's state, shared by the blocking and the asyncio client ("sans I/O").

NearCache keeps whole sessions (their GetResponse) that the client read, or wrote over a cached
copy (write-through: see end_write), in an LRU bounded in bytes, keyed by id_hash, and the lease
of the client's WatchInvalidations stream: it answers a read only while a lease is current (see
the rpc's comment in session.proto for the guarantee).
The stream itself (sessiond._invalidation_stream: a daemon thread, or an asyncio task) feeds it
with on_open, next_ping, on_response and on_break. Thread-safe: one lock guards everything.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from google.protobuf.internal.containers import MessageMap

from sessiond.v1 import session_pb2 as pb

ENTRY_OVERHEAD = 256
"""Bytes counted for each cached session on top of its serialized GetResponse: the Python objects
around it."""

FIRST_LEASE = 0.1
"""The lease assumed (seconds) before the server granted one: it sets the first ping interval."""

FRAMEWORK_MAX_BYTES = 16 * 1024 * 1024
"""The bound of the near cache the Flask and Django glue turn on by default."""


def id_hash(session_id: str) -> int:
    """The first 8 bytes of SHA-256(session_id), big-endian: the key of Invalidation.id_hash."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:8], "big")


@dataclass(frozen=True)
class NearCacheStats:
    """What a near cache did: reads served from it (`hits`) and reads that went to the server
    (`misses`) since the client was made, Touch rpcs it sent to renew sessions read from it,
    the sessions and bytes it holds now, and whether a lease is current (it may serve)."""

    hits: int
    misses: int
    touches: int
    entries: int
    bytes: int
    leased: bool


@dataclass(eq=False)
class _Entry:
    session_id: str
    response: pb.GetResponse
    size: int
    # time.monotonic() when the server last renewed the session for us (the Get or Touch sent).
    renewed_at: float
    touching: bool = False


@dataclass(eq=False)
class Fill:
    """A Get or a write in flight whose answer may fill the cache: started on stream `epoch`
    (a Get only under a lease); `dead` once a write, a gone invalidation or a broken stream made
    any answer unsafe, and `newer_than` the highest version an invalidation (or a write of our
    own that returned) announced meanwhile. A write's `base` is the cached copy it was sent
    over, if any."""

    hash: int
    session_id: str
    epoch: int
    sent_at: float
    dead: bool = False
    newer_than: int = 0
    base: pb.GetResponse | None = None


@dataclass
class _Lease:
    """The stream's lease: the ping send times not granted yet, and until when we may serve."""

    interval: float = FIRST_LEASE
    until: float = 0.0
    last_ping: int = 0
    sent: dict[int, float] = field(default_factory=dict)


class NearCache:
    """An LRU of whole sessions bounded by `max_bytes` (each counted as its serialized GetResponse
    plus ENTRY_OVERHEAD; one larger than the bound is not kept), served only under the lease of
    the invalidation stream."""

    def __init__(self, max_bytes: int) -> None:
        """An empty cache of at most `max_bytes` (at least 1), no stream, no lease."""
        if max_bytes < 1:
            raise ValueError(f"near_cache_max_bytes must be at least 1, not {max_bytes}")
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._bytes = 0
        self._fills: dict[int, list[Fill]] = {}
        self._lease = _Lease()
        # Incremented each time the stream breaks: fills started on an older stream are unsafe.
        self._epoch = 0
        self._open = False
        self._hits = self._misses = self._touches = 0

    # The stream's side.

    def on_open(self) -> None:
        """A new stream is open: pings start from 1, nothing is served until one is granted."""
        with self._lock:
            self._open = True
            self._lease = _Lease()

    def next_ping(self) -> pb.LeaseRequest:
        """The next LeaseRequest to send now; its send time is remembered."""
        with self._lock:
            self._lease.last_ping += 1
            self._lease.sent[self._lease.last_ping] = time.monotonic()
            return pb.LeaseRequest(ping=self._lease.last_ping)

    def ping_interval(self) -> float:
        """Seconds between two pings: a quarter of the last lease granted (of FIRST_LEASE
        before)."""
        with self._lock:
            return self._lease.interval / 4

    def on_response(self, response: pb.InvalidationsResponse) -> None:
        """Applies the invalidations of `response`, then its granted ping if any: the lease runs
        until that ping's send time plus the lease (never earlier than it ran already)."""
        with self._lock:
            for invalidation in response.invalidations:
                self._invalidate(invalidation.id_hash, invalidation.version, invalidation.gone)
            granted = response.granted_ping
            sent_at = self._lease.sent.get(granted)
            if granted == 0 or sent_at is None:
                return
            lease = response.lease.ToTimedelta().total_seconds()
            self._lease.interval = lease if lease > 0 else self._lease.interval
            self._lease.until = max(self._lease.until, sent_at + lease)
            self._lease.sent = {ping: at for ping, at in self._lease.sent.items() if ping > granted}

    def on_break(self) -> None:
        """The stream ended or failed: every entry is dropped, the lease forgotten, and fills in
        flight will not fill."""
        with self._lock:
            self._open = False
            self._lease = _Lease()
            self._epoch += 1
            self._entries.clear()
            self._bytes = 0
            for fills in self._fills.values():
                for fill in fills:
                    fill.dead = True

    # The reads' and writes' side.

    def lookup(self, session_id: str) -> pb.GetResponse | None:
        """The cached GetResponse of `session_id` if one may be served now (a lease is current,
        the session not expired by the local clock), counted as a hit; None (a miss) otherwise."""
        key = id_hash(session_id)
        with self._lock:
            entry = self._entries.get(key)
            if (
                entry is None
                or entry.session_id != session_id
                or time.monotonic() >= self._lease.until
                or not _live(entry.response.session)
            ):
                self._misses += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return entry.response

    def start_fill(self, session_id: str) -> Fill | None:
        """Registers a Get of every key of `session_id` about to be sent; None when its answer
        may not fill the cache (no lease: the stream is not up)."""
        key = id_hash(session_id)
        with self._lock:
            now = time.monotonic()
            if not self._open or now >= self._lease.until:
                return None
            fill = Fill(key, session_id, self._epoch, now)
            self._fills.setdefault(key, []).append(fill)
            return fill

    def end_fill(self, fill: Fill, response: pb.GetResponse | None) -> None:
        """The Get of `fill` returned `response` (None: it failed): keeps it unless something
        made it unsafe meanwhile (see Fill)."""
        with self._lock:
            self._unregister(fill)
            if (
                response is not None
                and not fill.dead
                and fill.epoch == self._epoch
                and response.session.version >= fill.newer_than
            ):
                self._put(fill, response)

    def start_write(self, session_id: str) -> Fill:
        """Registers a Set, Remove, Clear or Commit of `session_id` about to be sent: remembers
        the cached copy it writes over, if any, and spoils the Gets in flight for it (they may
        answer from before the write). Pass the result to end_write."""
        key = id_hash(session_id)
        with self._lock:
            for fill in self._fills.get(key, []):
                fill.dead = True
            entry = self._entries.get(key)
            base = entry.response if entry is not None and entry.session_id == session_id else None
            write = Fill(key, session_id, self._epoch, time.monotonic(), base=base)
            self._fills.setdefault(key, []).append(write)
            return write

    def end_write(
        self, write: Fill, ops: Iterable[pb.Operation], info: pb.SessionInfo | None
    ) -> None:
        """The write of `write` applying `ops` in order returned `info` (None: it failed). The
        cached copy takes it when that is provably exact: the copy existed at version v, nothing
        spoiled the write, and the write made version v + 1 (only our change happened: the copy
        with `ops` applied) or left v (nothing changed: the copy as it was); any other outcome
        drops the session's entry. Gets still in flight may not fill older than `info`."""
        with self._lock:
            self._unregister(write)
            if info is None:
                self._drop(write.hash)
                return
            for fill in self._fills.get(write.hash, []):
                fill.newer_than = max(fill.newer_than, info.version)
            base = write.base
            if (
                base is None
                or write.dead
                or write.epoch != self._epoch
                or write.newer_than > info.version
                or info.version - base.session.version not in (0, 1)
            ):
                self._drop(write.hash)
                return
            written = pb.GetResponse()
            written.CopyFrom(base)
            if info.version != base.session.version:
                _apply(ops, written.entries)
            written.session.CopyFrom(info)
            self._put(write, written)

    def forget(self, session_id: str) -> None:
        """A write on `session_id` is about to be sent: drops its entry, and fills in flight for
        it will not fill."""
        with self._lock:
            self._invalidate(id_hash(session_id), 0, gone=True)

    def touch_due(self, session_id: str) -> bool:
        """Whether a hit on `session_id` should renew it on the server now: no Touch in flight for
        it and its last renewal older than an eighth of its idle timeout. If so the Touch is
        counted as in flight until touched() or untouched()."""
        with self._lock:
            entry = self._entries.get(id_hash(session_id))
            if entry is None or entry.session_id != session_id or entry.touching:
                return False
            idle = entry.response.session.idle_timeout.ToTimedelta().total_seconds()
            if time.monotonic() - entry.renewed_at < idle / 8:
                return False
            entry.touching = True
            entry.renewed_at = time.monotonic()
            self._touches += 1
            return True

    def touched(self, session_id: str, info: pb.SessionInfo | None, gone: bool = False) -> None:
        """The Touch of `session_id` returned `info`, or failed (None; `gone`: NOT_FOUND). The
        entry takes the renewed expiry times; it is dropped if the session is gone or was
        changed meanwhile; another failure is ignored (the next hit may touch again)."""
        with self._lock:
            key = id_hash(session_id)
            entry = self._entries.get(key)
            if entry is None or entry.session_id != session_id:
                return
            entry.touching = False
            if gone or (info is not None and info.version != entry.response.session.version):
                self._drop(key)
            elif info is not None:
                renewed = pb.GetResponse()
                renewed.CopyFrom(entry.response)
                renewed.session.CopyFrom(info)
                entry.response = renewed

    def stats(self) -> NearCacheStats:
        """The counters and the size now (see NearCacheStats)."""
        with self._lock:
            return NearCacheStats(
                self._hits,
                self._misses,
                self._touches,
                len(self._entries),
                self._bytes,
                self._open and time.monotonic() < self._lease.until,
            )

    def _invalidate(self, key: int, version: int, gone: bool) -> None:
        """Drops the entry `key` if `gone` or older than `version`, and marks fills in flight."""
        entry = self._entries.get(key)
        if entry is not None and (gone or entry.response.session.version < version):
            self._drop(key)
        for fill in self._fills.get(key, []):
            if gone:
                fill.dead = True
            fill.newer_than = max(fill.newer_than, version)

    def _unregister(self, fill: Fill) -> None:
        fills = self._fills.get(fill.hash, [])
        fills.remove(fill)
        if not fills:
            self._fills.pop(fill.hash, None)

    def _put(self, fill: Fill, response: pb.GetResponse) -> None:
        """Caches `response` for the session of `fill` (renewed when `fill` was sent), unless the
        cache holds a newer version of it already; then evicts down to the bound."""
        current = self._entries.get(fill.hash)
        if current is not None and current.response.session.version > response.session.version:
            return
        self._drop(fill.hash)
        size = response.ByteSize() + ENTRY_OVERHEAD
        if size > self._max_bytes:
            return
        self._entries[fill.hash] = _Entry(fill.session_id, response, size, fill.sent_at)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size

    def _drop(self, key: int) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size


def _apply(ops: Iterable[pb.Operation], entries: MessageMap[str, pb.Value]) -> None:
    """Applies the Commit operations `ops` in order to `entries` (a GetResponse's map)."""
    for op in ops:
        kind = op.WhichOneof("op")
        if kind == "set":
            entries[op.set.key].CopyFrom(op.set.value)
        elif kind == "remove" and op.remove.key in entries:
            del entries[op.remove.key]
        elif kind == "clear":
            entries.clear()


def _live(info: pb.SessionInfo) -> bool:
    """Whether neither expiry time of `info` has passed by the local wall clock."""
    now = time.time_ns()
    return info.idle_expires_at.ToNanoseconds() > now and (
        not info.HasField("absolute_expires_at") or info.absolute_expires_at.ToNanoseconds() > now
    )
