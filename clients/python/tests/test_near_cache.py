"""The near cache against a real sessiond: reads served without an rpc (counted on the server's
/metrics page), changes by other clients and processes seen within one lease, no cached read once
the lease is lost, sliding expiry kept by coalesced Touches, and stale reads never overwriting."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration

from conftest import wait_until_stopped
from sessiond import (
    Client,
    ConflictError,
    DeadlineExceededError,
    NearCacheStats,
    NotFoundError,
    UnavailableError,
    aio,
)
from sessiond._near_cache import ENTRY_OVERHEAD, NearCache, id_hash
from sessiond.testing import run_sessiond, stop
from sessiond.v1 import session_pb2 as pb
from test_batching import frozen, metered_sessiond, wait_for

LEASE = 0.1
"""The server's --near_cache_lease (its default), in seconds."""

CACHE_BYTES = 1 << 20


@pytest.fixture(scope="module")
def metered() -> Iterator[tuple[str, Callable[[], Counter[str]]]]:
    """A sessiond of this module's with metrics: its address and its rpc counts."""
    with metered_sessiond() as (address, _, counts):
        yield address, counts


@pytest.fixture
def plain(metered: tuple[str, Any]) -> Iterator[Client]:
    """Another client of the server, without a near cache."""
    with Client(metered[0]) as client:
        yield client


@pytest.fixture
def caching(metered: tuple[str, Any]) -> Iterator[Client]:
    """A client of the server with a near cache, its stream holding a lease."""
    with Client(metered[0], near_cache_max_bytes=CACHE_BYTES) as client:
        wait_for(lambda: stats(client).leased)
        yield client


def stats(client: Client | aio.Client) -> NearCacheStats:
    cache_stats = client.near_cache_stats()
    assert cache_stats is not None
    return cache_stats


def read(client: Client, session_id: str) -> tuple[dict[str, Any], int]:
    """Every entry of `session_id` as `client` reads it, and the version."""
    session = client.session(session_id)
    entries = {key: session.get(key) for key in session.keys()}  # noqa: SIM118
    assert session.info is not None
    return entries, session.info.version


def poll(condition: Callable[[], bool], seconds: float = 1.0) -> None:
    """Waits up to `seconds` until `condition` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.01)


def test_a_second_read_is_served_without_an_rpc(
    metered: tuple[str, Callable[[], Counter[str]]], plain: Client, caching: Client
) -> None:
    session_id = plain.create({"user": "alice", "n": 1}).id
    first = read(caching, session_id)  # a miss, which fills the cache
    gets = metered[1]()["Get"]
    assert read(caching, session_id) == first == ({"user": "alice", "n": 1}, 1)
    assert metered[1]()["Get"] == gets
    assert (stats(caching).hits, stats(caching).misses) == (1, 1)


def test_a_change_by_another_client_is_seen_within_a_lease(plain: Client, caching: Client) -> None:
    session = plain.create({"n": 1})
    read(caching, session.id)
    session.set("n", 2)
    session.commit()
    poll(lambda: read(caching, session.id) == ({"n": 2}, 2))
    hits = stats(caching).hits
    read(caching, session.id)
    assert stats(caching).hits == hits + 1  # the new version is cached again
    session_id = session.id
    session.delete()
    time.sleep(LEASE + 0.05)
    with pytest.raises(NotFoundError):
        read(caching, session_id)


def test_a_revoked_session_is_not_served_a_lease_after_the_revocation(
    plain: Client, caching: Client
) -> None:
    session_id = plain.create({"n": 1}, principal="near-cache-revoke").id
    read(caching, session_id)
    read(caching, session_id)
    assert stats(caching).hits == 1
    assert plain.revoke_sessions("near-cache-revoke") == 1
    time.sleep(LEASE + 0.05)
    with pytest.raises(NotFoundError) as gone:
        read(caching, session_id)
    assert gone.value.reason == "REVOKED"


def test_a_stopped_process_serves_no_deleted_session_when_it_resumes(
    metered: tuple[str, Any], plain: Client
) -> None:
    session = plain.create({"n": 1})
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("near_cache_child.py"))],
        env={**os.environ, "SESSIOND_ADDR": metered[0]},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "leased\n"
        for expected in ("version 1 hits 0\n", "version 1 hits 1\n"):
            child.stdin.write(f"read {session.id}\n")
            child.stdin.flush()
            assert child.stdout.readline() == expected
        child.send_signal(signal.SIGSTOP)
        wait_until_stopped(child.pid)
        session_id = session.id
        started = time.monotonic()
        assert session.delete()
        assert time.monotonic() - started < 2.0
        # The invalidation may wait unread in the stopped child's socket: the guarantee is that
        # one lease after Delete returned no process serves the session, stopped or not.
        time.sleep(LEASE + 0.05)
        child.stdin.write(f"read {session_id}\n")
        child.stdin.flush()
        child.send_signal(signal.SIGCONT)
        assert child.stdout.readline() == "gone\n"  # its first read after it resumed
    finally:
        child.stdin.close()
        stop(child)  # type: ignore[arg-type]


@contextmanager
def cached_on_own_server() -> Iterator[tuple[subprocess.Popen[bytes], Client, str]]:
    """A sessiond of its own, a caching client of it, and a session that client has cached (its
    second read was a hit)."""
    with (
        run_sessiond() as (address, process),
        Client(address, near_cache_max_bytes=CACHE_BYTES) as caching,
    ):
        session_id = caching.create({"n": 1}).id
        wait_for(lambda: stats(caching).leased)
        read(caching, session_id)
        read(caching, session_id)
        assert stats(caching).hits == 1
        yield process, caching, session_id


def test_a_frozen_server_stops_cached_reads_within_a_lease() -> None:
    with cached_on_own_server() as (process, caching, session_id), frozen(process):
        time.sleep(LEASE + 0.05)
        with pytest.raises(DeadlineExceededError):
            caching.session(session_id).load(timeout=0.3)
        assert stats(caching).hits == 1


def test_a_stopped_server_fails_reads_instead_of_the_cache_answering() -> None:
    with cached_on_own_server() as (process, caching, session_id):
        stop(process)
        with pytest.raises(UnavailableError):
            read(caching, session_id)
        assert stats(caching).entries == 0


def test_reads_from_the_cache_keep_the_session_alive_with_few_touches(
    metered: tuple[str, Callable[[], Counter[str]]], plain: Client, caching: Client
) -> None:
    session_id = plain.create({"n": 1}, idle_timeout=timedelta(seconds=2)).id
    before = metered[1]()
    reads = 0
    started = time.monotonic()
    while time.monotonic() - started < 3.0:
        assert read(caching, session_id) == ({"n": 1}, 1)
        reads += 1
        time.sleep(0.02)
    assert read(plain, session_id) == ({"n": 1}, 1)  # alive on the server after 3 s
    after = metered[1]()
    touches = after["Touch"] - before["Touch"] + after["Batch"] - before["Batch"]
    assert 1 <= stats(caching).touches <= 3.0 / (2.0 / 8) + 1
    assert touches <= stats(caching).touches
    assert stats(caching).hits >= reads - 5  # a lapsed lease now and then is a miss


def test_a_commit_after_a_stale_cached_read_conflicts(plain: Client, caching: Client) -> None:
    session_id = plain.create({"n": 1}).id
    read(caching, session_id)
    stale = caching.session(session_id)
    stale.load()
    assert stats(caching).hits == 1
    other = plain.session(session_id)
    other.set("n", 2)
    other.commit()
    stale.set("n", 10)
    with pytest.raises(ConflictError) as conflict:
        stale.commit()
    assert conflict.value.conflicting_keys == ("n",)
    assert read(plain, session_id) == ({"n": 2}, 2)


def test_own_writes_are_read_back_at_once(caching: Client) -> None:
    session = caching.create({"n": 1})
    read(caching, session.id)
    session.set("n", 2)
    session.commit()
    assert read(caching, session.id) == ({"n": 2}, 2)
    session_id = session.id
    session.delete()
    with pytest.raises(NotFoundError):
        read(caching, session_id)


def cache(client: Client, session_id: str) -> None:
    """Reads `session_id` through `client` until a read is a hit (a lease may lapse now and then
    on a loaded machine): the session is cached."""
    hits = stats(client).hits
    while stats(client).hits == hits:
        assert stats(client).misses < 100
        read(client, session_id)


def test_a_read_after_an_own_commit_is_served_the_written_copy(
    metered: tuple[str, Callable[[], Counter[str]]], plain: Client, caching: Client
) -> None:
    session_id = plain.create({"user": "alice", "gone": True}).id
    for n in range(1, 6):  # until the read after the commit finds the lease current
        cache(caching, session_id)
        session = caching.session(session_id)
        session.set("n", n)
        session.remove("gone")
        session.set("cart", [n])
        session.commit()
        assert stats(caching).entries == 1  # the written copy, not dropped
        wait_for(lambda: stats(caching).leased)
        gets, hits = metered[1]()["Get"], stats(caching).hits
        written = ({"user": "alice", "n": n, "cart": [n]}, n + 1)
        assert read(caching, session_id) == written
        if stats(caching).hits == hits + 1:
            assert metered[1]()["Get"] == gets
            assert read(plain, session_id) == written
            return
    pytest.fail("no read after an own commit found the lease current")


def test_a_commit_racing_another_clients_write_leaves_no_cached_copy(
    metered: tuple[str, Callable[[], Counter[str]]], plain: Client, caching: Client
) -> None:
    session_id = plain.create({"n": 1}).id
    cache(caching, session_id)
    session = caching.session(session_id)
    session.load()  # version 1, from the cache
    other = plain.session(session_id)
    other.set("m", 5)
    other.commit()
    session.set("n", 2)
    session.commit()  # version 3: two changes, not only ours
    assert stats(caching).entries == 0
    gets = metered[1]()["Get"]
    assert read(caching, session_id) == ({"n": 2, "m": 5}, 3)
    assert metered[1]()["Get"] == gets + 1


async def test_the_asyncio_client_serves_from_its_cache_sees_changes_and_writes_through(
    metered: tuple[str, Callable[[], Counter[str]]], plain: Client
) -> None:
    session = plain.create({"n": 1})
    async with aio.Client(metered[0], near_cache_max_bytes=CACHE_BYTES) as caching:

        async def load() -> tuple[dict[str, Any], int]:
            loaded = caching.session(session.id)
            await loaded.load()
            assert loaded.info is not None
            return {key: loaded.get(key) for key in loaded.keys()}, loaded.info.version  # noqa: SIM118

        await load()  # opens the stream
        deadline = time.monotonic() + 5
        while not stats(caching).leased:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        await load()  # fills
        gets = metered[1]()["Get"]
        assert await load() == ({"n": 1}, 1)
        assert metered[1]()["Get"] == gets
        session.set("n", 2)
        session.commit()
        deadline = time.monotonic() + 1
        while await load() != ({"n": 2}, 2):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        hits = stats(caching).hits
        while stats(caching).hits == hits:  # until version 2 is cached
            assert await load() == ({"n": 2}, 2)
        own = caching.session(session.id)
        await own.load()
        own.set("n", 3)
        await own.commit()
        while not stats(caching).leased:
            await asyncio.sleep(0.01)
        gets, hits = metered[1]()["Get"], stats(caching).hits
        assert await load() == ({"n": 3}, 3)  # the written copy
        assert (metered[1]()["Get"], stats(caching).hits) == (gets, hits + 1)


def granted_cache(max_bytes: int) -> NearCache:
    """A NearCache whose stream is open and holds a lease of a minute (granted by hand: the
    server's side of the protocol is tested above)."""
    cache = NearCache(max_bytes)
    cache.on_open()
    ping = cache.next_ping().ping
    cache.on_response(pb.InvalidationsResponse(granted_ping=ping, lease=Duration(seconds=60)))
    return cache


def answer(session_id: str, version: int, value: str) -> pb.GetResponse:
    """A GetResponse of a live session holding `value` under "v"."""
    response = pb.GetResponse()
    response.session.id = session_id
    response.session.version = version
    response.session.idle_expires_at.FromSeconds(int(time.time()) + 600)
    response.session.idle_timeout.FromSeconds(600)
    response.entries["v"].string_value = value
    return response


def fill(cache: NearCache, session_id: str, version: int, value: str) -> None:
    started = cache.start_fill(session_id)
    assert started is not None
    cache.end_fill(started, answer(session_id, version, value))


def test_the_cache_is_bounded_in_bytes_and_evicts_the_least_recently_used() -> None:
    size = answer("a", 1, "x" * 100).ByteSize() + ENTRY_OVERHEAD
    cache = granted_cache(3 * size)
    for session_id in "abc":
        fill(cache, session_id, 1, "x" * 100)
    assert cache.lookup("a") is not None  # a is now the most recently used
    fill(cache, "d", 1, "x" * 100)
    assert cache.lookup("b") is None
    assert [cache.lookup(key) is not None for key in "acd"] == [True, True, True]
    assert cache.stats().bytes == 3 * size
    fill(cache, "e", 1, "x" * (3 * size))  # larger than the bound: not kept
    assert cache.lookup("e") is None and cache.stats().entries == 3


def test_invalidations_drop_older_copies_and_spoil_fills_in_flight() -> None:
    cache = granted_cache(CACHE_BYTES)
    fill(cache, "a", 2, "old")
    cache.on_response(
        pb.InvalidationsResponse(invalidations=[{"id_hash": id_hash("a"), "version": 2}])
    )
    assert cache.lookup("a") is not None  # not older than the change
    cache.on_response(
        pb.InvalidationsResponse(invalidations=[{"id_hash": id_hash("a"), "version": 3}])
    )
    assert cache.lookup("a") is None
    in_flight = cache.start_fill("a")
    assert in_flight is not None
    cache.on_response(
        pb.InvalidationsResponse(invalidations=[{"id_hash": id_hash("a"), "version": 5}])
    )
    cache.end_fill(in_flight, answer("a", 4, "stale"))
    assert cache.lookup("a") is None
    in_flight = cache.start_fill("a")
    assert in_flight is not None
    cache.forget("a")  # a write of our own
    cache.end_fill(in_flight, answer("a", 5, "maybe stale"))
    assert cache.lookup("a") is None
    fill(cache, "a", 5, "fresh")
    cache.on_break()
    assert cache.lookup("a") is None and cache.start_fill("a") is None


def commit_ops(*ops: dict[str, Any]) -> list[pb.Operation]:
    return [pb.Operation(**op) for op in ops]


def info(session_id: str, version: int) -> pb.SessionInfo:
    return answer(session_id, version, "").session


def test_an_own_write_updates_the_cached_copy_only_when_that_is_exact() -> None:
    cache = granted_cache(CACHE_BYTES)
    fill(cache, "a", 2, "old")
    set_w = commit_ops({"set": {"key": "w", "value": {"int64_value": 7}}})
    write = cache.start_write("a")
    cache.end_write(write, set_w + commit_ops({"remove": {"key": "v"}}), info("a", 3))
    written = cache.lookup("a")
    assert written is not None and written.session.version == 3
    assert dict(written.entries) == {"w": pb.Value(int64_value=7)}
    write = cache.start_write("a")
    cache.end_write(write, commit_ops({"clear": {}}), info("a", 3))  # changed nothing
    unchanged = cache.lookup("a")
    assert unchanged is not None and dict(unchanged.entries) == {"w": pb.Value(int64_value=7)}
    write = cache.start_write("a")
    cache.end_write(write, set_w, info("a", 5))  # someone else wrote too
    assert cache.lookup("a") is None
    fill(cache, "a", 5, "x")
    cache.end_write(cache.start_write("a"), set_w, None)  # failed
    assert cache.lookup("a") is None
    cache.end_write(cache.start_write("a"), set_w, info("a", 6))  # nothing was cached
    assert cache.lookup("a") is None


def test_an_own_write_spoiled_in_flight_or_racing_a_get_is_not_cached() -> None:
    cache = granted_cache(CACHE_BYTES)
    set_w = commit_ops({"set": {"key": "w", "value": {"string_value": "ours"}}})
    for invalidation in ({"version": 4}, {"gone": True}):
        fill(cache, "a", 2, "old")
        write = cache.start_write("a")
        cache.on_response(
            pb.InvalidationsResponse(invalidations=[{"id_hash": id_hash("a"), **invalidation}])
        )
        cache.end_write(write, set_w, info("a", 3))
        assert cache.lookup("a") is None
    fill(cache, "a", 2, "old")
    write = cache.start_write("a")
    cache.on_break()
    cache.on_open()
    cache.on_response(
        pb.InvalidationsResponse(granted_ping=cache.next_ping().ping, lease=Duration(seconds=60))
    )
    cache.end_write(write, set_w, info("a", 3))
    assert cache.lookup("a") is None  # the stream broke meanwhile
    fill(cache, "a", 2, "old")
    before = cache.start_fill("a")  # a Get sent before the write: it may answer from before it
    assert before is not None
    write = cache.start_write("a")
    during = cache.start_fill("a")  # a Get sent during the write, answered before it applied
    assert during is not None
    cache.end_write(write, set_w, info("a", 3))
    cache.end_fill(before, answer("a", 3, "maybe ours"))
    cache.end_fill(during, answer("a", 2, "old"))
    written = cache.lookup("a")
    assert written is not None and written.entries["w"].string_value == "ours"


async def test_the_asyncio_client_stops_serving_when_its_server_is_gone() -> None:
    with run_sessiond() as (address, process):
        async with aio.Client(address, near_cache_max_bytes=CACHE_BYTES) as caching:
            session_id = (await caching.create({"n": 1})).id
            while stats(caching).hits == 0:  # the first loads open the stream and fill
                assert stats(caching).misses < 100
                await caching.session(session_id).load()
                await asyncio.sleep(0.01)
            stop(process)
            await asyncio.sleep(LEASE + 0.05)
            assert stats(caching).entries == 0
            with pytest.raises(UnavailableError):
                await caching.session(session_id).load()
