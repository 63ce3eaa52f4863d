"""The Session model against a real sessiond, for the blocking and the asyncio client."""

from __future__ import annotations

import signal
import socket
import time
from datetime import timedelta
from typing import Any

import pytest

from conftest import make_client, wait_until_stopped
from sessiond import (
    AlreadyExistsError,
    Client,
    ConflictError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    UnavailableError,
    new_session_id,
)
from sessiond.testing import run_sessiond


def test_a_new_session_is_created_only_when_it_stores_something(client: Any) -> None:
    session = client.new_session()
    assert session.get_string("user") is None
    session.commit()
    assert session.id == ""
    session.set_string("user", "ada")
    assert session.has_pending_changes
    session.commit()
    assert len(session.id) == 32
    assert session.is_new and not session.has_pending_changes
    assert session.info.version == 1
    assert client.session(session.id).get_string("user") == "ada"


def test_create_sets_principal_and_timeouts(client: Any) -> None:
    session = client.create(
        {"a": 1},
        principal="user-7",
        idle_timeout=timedelta(minutes=5),
        absolute_timeout=timedelta(hours=1),
    )
    assert session.info.principal == "user-7"
    assert session.info.idle_timeout == timedelta(minutes=5)
    assert session.info.absolute_expires_at - session.info.created_at == timedelta(hours=1)


def test_commit_sends_pending_changes_and_reads_see_them_at_once(client: Any) -> None:
    session = client.create({"a": "1", "b": "2", "c": "3"})
    session.set_string("a", "one")
    session.remove("b")
    assert session.keys() == ["a", "c"]
    session.commit()
    assert session.info.version == 2
    reader = client.session(session.id)
    assert reader.keys() == ["a", "c"] and reader.get_string("a") == "one"
    reader.clear()
    reader.set_int("d", 4)
    reader.commit()
    assert client.session(session.id).keys() == ["d"]


def test_concurrent_commits_to_different_keys_both_apply(client: Any) -> None:
    created = client.create({"cart": "[]", "theme": "light"})
    first, second = client.session(created.id), client.session(created.id)
    first.load()
    second.load()
    first.set_string("cart", '["apple"]')
    second.set_string("theme", "dark")
    first.commit()
    second.commit()
    reader = client.session(created.id)
    assert reader.get_string("cart") == '["apple"]' and reader.get_string("theme") == "dark"


def test_a_conflict_names_the_keys_and_keeps_the_changes_pending(client: Any) -> None:
    created = client.create({"cart": "[]", "theme": "light"})
    first, second = client.session(created.id), client.session(created.id)
    first.load()
    second.load()
    first.set_string("cart", '["apple"]')
    first.commit()
    second.set_string("cart", '["pear"]')
    second.set_string("theme", "dark")
    with pytest.raises(ConflictError) as raised:
        second.commit()
    assert raised.value.conflicting_keys == ("cart",)
    assert raised.value.current_version == 2
    assert "'cart'" in str(raised.value)
    assert second.conflicting_keys == ("cart",)
    assert second.has_pending_changes
    second.reload()
    assert second.get_string("cart") == '["apple"]' and second.get_string("theme") == "light"


def test_run_reruns_the_work_on_a_conflict(client: Any, address: str) -> None:
    created = client.create({"visits": 0})
    other = Client(address).session(created.id)  # another request, in another process
    runs = []

    def visit(session: Any) -> int:
        visits = session.get_int("visits")
        if not runs:  # another request commits the same key while this one works
            other.set_int("visits", 10)
            other.commit()
        runs.append(visits)
        session.set_int("visits", visits + 1)
        return int(visits + 1)

    assert client.session(created.id).run(visit) == 11
    assert runs == [0, 10]
    assert client.session(created.id).get_int("visits") == 11


def test_run_gives_up_after_its_attempts(client: Any, address: str) -> None:
    created = client.create({"n": 0})
    other = Client(address).session(created.id)
    runs = []

    def always_raced(session: Any) -> None:
        runs.append(session.get_int("n"))
        other.set_int("n", len(runs) * 100)
        other.commit()
        session.set_int("n", -1)

    with pytest.raises(ConflictError) as raised:
        client.session(created.id).run(always_raced, attempts=2)
    assert raised.value.conflicting_keys == ("n",)
    assert runs == [0, 100]


def test_unknown_and_malformed_ids(client: Any) -> None:
    with pytest.raises(NotFoundError):
        client.session("A" * 32).load()
    with pytest.raises(InvalidArgumentError):
        client.session("not-an-id").load()


def test_delete_ends_the_session_and_leaves_a_new_one(client: Any) -> None:
    session = client.create({"user": "ada"})
    old_id = session.id
    assert session.delete() is True
    assert session.id == "" and session.keys() == []
    with pytest.raises(NotFoundError):
        client.session(old_id).load()
    assert client.session(old_id).delete() is False


def test_rotate_id_keeps_the_data_and_kills_the_old_id(client: Any) -> None:
    session = client.create({"user": "ada"})
    old_id = session.id
    session.rotate_id()
    assert session.id != old_id and session.info.version == 2
    session.set_string("role", "admin")
    session.commit()
    reader = client.session(session.id)
    assert reader.get_string("user") == "ada" and reader.get_string("role") == "admin"
    with pytest.raises(NotFoundError):
        client.session(old_id).load()


def test_an_unreachable_server_fails_at_once_naming_its_address(variant: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with make_client(variant, address, retry_backoff=0.01) as client:
        started = time.monotonic()
        with pytest.raises(UnavailableError) as raised:
            client.create({"a": 1})
        assert address in str(raised.value) and raised.value.address == address
        with pytest.raises(UnavailableError):
            client.session("A" * 32).load()
        assert time.monotonic() - started < 2


def test_deadlines_and_a_lost_reply_retried_once_applied(variant: str) -> None:
    with run_sessiond() as (address, process), make_client(variant, address, timeout=0.3) as client:
        session = client.create({"n": 1})
        session.set_int("n", 2)
        process.send_signal(signal.SIGSTOP)  # the server hears requests and answers none
        wait_until_stopped(process.pid)
        try:
            started = time.monotonic()
            with pytest.raises(DeadlineExceededError):
                client.session(session.id).load()
            assert time.monotonic() - started < 1.5
            with pytest.raises(DeadlineExceededError):
                session.commit()  # three attempts, one request_id
            assert session.has_pending_changes
        finally:
            process.send_signal(signal.SIGCONT)  # the queued attempts apply at most once
        session.commit()
        reader = client.session(session.id)
        assert reader.get_int("n") == 2
        assert reader.info.version == 2


def test_a_proposed_id_is_used_once(client: Any) -> None:
    proposed = new_session_id()
    assert len(proposed) == 32
    session = client.create({"a": 1}, session_id=proposed)
    assert session.id == proposed
    with pytest.raises(AlreadyExistsError):
        client.create({"a": 2}, session_id=proposed)
    with pytest.raises(InvalidArgumentError):
        client.create({"a": 2}, session_id="too-short")
