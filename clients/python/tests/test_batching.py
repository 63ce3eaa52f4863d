"""Automatic batching against a real sessiond, with the blocking and the asyncio client: calls made
together reach the server as fewer rpcs (counted on its /metrics page), each caller still gets
exactly what its unary call gives, and keeps its own deadline."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

from conftest import Blocking, make_client, native, together, wait_until_stopped
from sessiond import (
    Client,
    ConflictError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
)
from sessiond.django import SessionStore
from sessiond.testing import run_sessiond

_RPC_SAMPLE = re.compile(
    r'^sessiond_rpcs_total\{[^}]*method="/sessiond\.v1\.SessionService/(\w+)"[^}]*\} (\S+)$',
    re.MULTILINE,
)


def rpc_counts(metrics_port: int) -> Counter[str]:
    """How many rpcs of each method (e.g. "Get", "Batch") the server has finished, from its
    /metrics page. Subtract two to count what happened in between."""
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as page:
        text = page.read().decode()
    counts: Counter[str] = Counter()
    for method, value in _RPC_SAMPLE.findall(text):
        counts[method] += int(float(value))
    return counts


@contextmanager
def metered_sessiond(
    *flags: str,
) -> Iterator[tuple[str, subprocess.Popen[bytes], Callable[[], Counter[str]]]]:
    """A sessiond of its own with `flags` and metrics on a free loopback port: its address, its
    process, and a function that reads its rpc counts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    with run_sessiond(f"--metrics_listen=127.0.0.1:{metrics_port}", *flags) as (address, process):
        yield address, process, partial(rpc_counts, metrics_port)


@contextmanager
def frozen(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """The server hears requests and answers none until the block ends."""
    process.send_signal(signal.SIGSTOP)
    wait_until_stopped(process.pid)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


def wait_for(condition: Callable[[], bool]) -> None:
    """Waits (bounded) until `condition` holds."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the client"
        time.sleep(0.005)


def in_one_batch(
    client: Any, process: subprocess.Popen[bytes], calls: list[Callable[[], Any]]
) -> list[Any]:
    """Runs `calls` (as together() does) so that they reach the server in one Batch rpc: on the
    asyncio client they are made in one loop turn; on the blocking client they queue behind a
    ListSessions in flight to the frozen server, and go together when it returns."""
    if isinstance(client, Blocking):
        return together(client, calls)
    batcher = client._batcher

    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(calls) + 1) as pool:
        with frozen(process):
            opener = pool.submit(client.list_sessions, "nobody", timeout=10)
            wait_for(lambda: batcher._in_flight == 1)
            outcomes = [pool.submit(outcome, call) for call in calls]
            wait_for(lambda: len(batcher._queue) == len(calls))
        opener.result()
        return [future.result() for future in outcomes]


def succeeded(outcomes: list[Any]) -> list[Any]:
    """`outcomes` (of together()), after raising the first of them that is an error."""
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            raise outcome
    return outcomes


def described(outcome: Any) -> Any:
    """What a caller can tell of an outcome: an error's class, message and attributes (code,
    details, reason, conflicting_keys, ...), or the result itself."""
    if isinstance(outcome, Exception):
        return type(outcome), str(outcome), vars(outcome)
    return outcome


@pytest.mark.parametrize("batching", [True, False])
def test_concurrent_calls_each_get_their_result_in_fewer_rpcs(variant: str, batching: bool) -> None:
    count = 200  # calls of each kind, at once (deadlines generous for a loaded machine)
    with (
        metered_sessiond() as (address, _, rpcs),
        make_client(variant, address, batching=batching, timeout=10) as client,
    ):
        maker = native(client)
        calls = [partial(maker.create, {"n": i}) for i in range(count)]
        sessions = [maker.session(created.id) for created in succeeded(together(client, calls))]
        succeeded(together(client, [session.load for session in sessions]))
        for session in sessions:
            session.set_int("n", session.get_int("n") + 1000)
        succeeded(together(client, [session.commit for session in sessions]))
        readers = [maker.session(session.id) for session in sessions]
        succeeded(together(client, [reader.load for reader in readers]))

        assert [reader.get_int("n") for reader in readers] == [i + 1000 for i in range(count)]
        assert {reader.info.version for reader in readers} == {2}
        counts = rpcs()
        if batching:
            assert counts["Batch"] > 0
            assert sum(counts.values()) < 4 * count
        else:
            assert counts == {"CreateSession": count, "Get": 2 * count, "Commit": count}


def test_each_caller_in_a_batch_gets_exactly_the_error_its_unary_call_gives(variant: str) -> None:
    with (
        metered_sessiond() as (address, process, rpcs),
        make_client(variant, address) as client,
        make_client(variant, address, batching=False) as unbatched,
    ):
        live = client.create({"user": "ada"})
        gone_id = client.create({"user": "bob"}).id
        client.session(gone_id).delete()
        raced = client.create({"cart": "[]"})
        stale = [client.session(raced.id), unbatched.session(raced.id)]
        for session in stale:
            session.load()
        winner = client.session(raced.id)
        winner.load()
        winner.set_string("cart", '["apple"]')
        winner.commit()

        def calls(caller: Any, loser: Any) -> tuple[list[Callable[[], Any]], Any]:
            """Four calls of `caller`: a NOT_FOUND, a conflicting commit of `loser`, an
            INVALID_ARGUMENT and a success; and the session the success loads."""
            loser.set_string("cart", '["pear"]')
            loaded = native(caller).session(live.id)
            return [
                native(caller).session(gone_id).load,
                native(loser).commit,
                native(caller).session("not-an-id").load,
                loaded.load,
            ], loaded

        before = rpcs()
        batch_calls, batch_loaded = calls(client, stale[0])
        batched = in_one_batch(client, process, batch_calls)
        sent = rpcs() - before
        unary_calls, unary_loaded = calls(unbatched, stale[1])
        unary = together(unbatched, unary_calls)

    assert sent == ({"Batch": 1} if variant == "aio" else {"Batch": 1, "ListSessions": 1})
    not_found, conflict, invalid, loaded = batched
    assert isinstance(not_found, NotFoundError) and not_found.reason == "DELETED"
    assert isinstance(conflict, ConflictError)
    assert (conflict.conflicting_keys, conflict.current_version) == (("cart",), 2)
    assert stale[0].conflicting_keys == ("cart",) and stale[0].has_pending_changes
    assert isinstance(invalid, InvalidArgumentError)
    assert loaded is None and batch_loaded.get_string("user") == "ada"
    assert [described(outcome) for outcome in batched] == [described(o) for o in unary]
    assert unary_loaded.get_string("user") == "ada"


def test_a_batch_of_large_sessions_loads_as_each_one_does(variant: str) -> None:
    """Seven sessions of 750 kB: the Batch response is larger than gRPC's default 4 MiB."""
    value = "x" * 250_000
    with metered_sessiond() as (address, process, rpcs), make_client(variant, address) as client:
        ids = [client.create({"a": value, "b": value, "c": value}).id for _ in range(7)]
        sessions = [native(client).session(session_id) for session_id in ids]
        before = rpcs()
        succeeded(in_one_batch(client, process, [session.load for session in sessions]))
        sent = rpcs() - before
    assert sent["Batch"] == 1
    assert all(session.get_string("c") == value for session in sessions)


def test_when_the_batch_rpc_fails_every_call_in_it_raises_its_error(variant: str) -> None:
    with (
        metered_sessiond("--max_batch_operations=4") as (address, process, rpcs),
        make_client(variant, address) as client,
    ):
        ids = [client.create({"n": i}).id for i in range(5)]
        sessions = [native(client).session(session_id) for session_id in ids]
        before = rpcs()
        refused = in_one_batch(client, process, [session.load for session in sessions])
        assert (rpcs() - before).get("Batch") == 1
    assert all(isinstance(error, InvalidArgumentError) for error in refused)
    assert len({error.details for error in refused}) == 1
    assert not any(session.is_loaded for session in sessions)


def test_a_call_stops_waiting_at_its_own_deadline_while_its_batch_is_in_flight(
    variant: str,
) -> None:
    with metered_sessiond() as (address, process, _), make_client(variant, address) as client:
        session_id = client.create({"user": "ada"}).id
        patient = native(client).session(session_id)
        hasty = native(client).session(session_id)
        if isinstance(client, Blocking):
            outcome = client._loop.run_until_complete(_hasty_gives_up_aio(process, patient, hasty))
        else:
            outcome = _hasty_gives_up_sync(client, process, patient, hasty)
        assert isinstance(outcome, DeadlineExceededError)
        assert patient.get_string("user") == "ada"
        assert not hasty.is_loaded


async def _hasty_gives_up_aio(process: subprocess.Popen[bytes], patient: Any, hasty: Any) -> Any:
    """Both loads go in one Batch (deadline: the patient's) to the frozen server; returns what
    the hasty one raised, before the server answers the batch."""
    with frozen(process):
        batch = [
            asyncio.ensure_future(patient.load(timeout=10)),
            asyncio.ensure_future(hasty.load(timeout=0.2)),
        ]
        await asyncio.wait([batch[1]])
        assert not batch[0].done()
    await batch[0]
    return batch[1].exception()


def _hasty_gives_up_sync(
    client: Any, process: subprocess.Popen[bytes], patient: Any, hasty: Any
) -> Any:
    """The patient load is in flight to the frozen server, the hasty one queued behind it;
    returns what the hasty one raised, before the server answers."""
    with ThreadPoolExecutor(1) as pool:
        with frozen(process):
            in_flight = pool.submit(patient.load, timeout=10)
            wait_for(lambda: client._batcher._in_flight == 1)
            with pytest.raises(DeadlineExceededError) as raised:
                hasty.load(timeout=0.2)
            assert not in_flight.done()
        in_flight.result()
    return raised.value


def test_batches_keep_to_their_limits_and_a_lone_call_is_its_own_rpc() -> None:
    """On the asyncio client, whose batches are exactly the calls of one loop turn."""
    with (
        metered_sessiond() as (address, _, rpcs),
        make_client("aio", address, max_batch_operations=50, max_batch_bytes=2500) as client,
    ):
        maker = native(client)
        before = rpcs()
        client.create({"alone": 1})
        assert (rpcs() - before) == {"CreateSession": 1}

        before = rpcs()
        created = succeeded(together(client, [partial(maker.create, {"n": i}) for i in range(120)]))
        assert (rpcs() - before) == {"Batch": 3}  # 50 + 50 + 20

        before = rpcs()
        large = [{"blob": "x" * 1000, "n": i} for i in range(6)]
        succeeded(together(client, [partial(maker.create, entries) for entries in large]))
        assert (rpcs() - before) == {"Batch": 3}  # two of about 1 KB per 2500 B

        before = rpcs()
        entries = [{"n": 1}, {"blob": "x" * 3000}, {"n": 2}]
        mixed = succeeded(together(client, [partial(maker.create, entries) for entries in entries]))
        assert (rpcs() - before) == {"CreateSession": 1, "Batch": 1}

    assert [session.info.version for session in created] == [1] * 120
    assert len({session.id for session in created + mixed}) == 123


@pytest.mark.parametrize("batching", [True, False])
def test_django_requests_at_once_are_batched_unless_turned_off(
    settings: Any, batching: bool
) -> None:
    """Django's engine loads each request's session; concurrent requests share Batch rpcs."""
    count = 100
    with metered_sessiond() as (address, _, rpcs), Client(address) as setup:
        settings.SESSIOND = {"ADDRESS": address, "BATCHING": batching, "TIMEOUT": 10}
        ids = [setup.create({"visits": i}).id for i in range(count)]
        before = rpcs()
        stores = [SessionStore(session_id) for session_id in ids]
        visits = succeeded(together(setup, [partial(store.get, "visits") for store in stores]))
        sent = rpcs() - before

    assert visits == list(range(count))
    if batching:
        assert sent["Batch"] > 0 and sum(sent.values()) < count
    else:
        assert sent == {"Get": count}
