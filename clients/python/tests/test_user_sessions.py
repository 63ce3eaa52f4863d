"""A user's sessions against a real sessiond: list_sessions, revoke_sessions, why a session is gone
(NotFoundError.reason) and watch_sessions, with the blocking and the asyncio client."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest

from sessiond import Client, NotFoundError, OutOfRangeError, aio
from sessiond.v1 import session_pb2 as pb


def _principal() -> str:
    """A principal no other test uses (the server is shared)."""
    return f"py-{secrets.token_hex(4)}"


def test_lists_newest_first_and_revokes_all_but_the_current_one(client: Any) -> None:
    user = _principal()
    phone = client.create(principal=user, labels={"device": "phone"})
    laptop = client.create(principal=user, labels={"device": "laptop"})

    page = client.list_sessions(user)
    assert [(info.id, info.labels["device"]) for info in page.sessions] == [
        (laptop.id, "laptop"),
        (phone.id, "phone"),
    ]
    assert all(isinstance(info.last_access_at, datetime) for info in page.sessions)
    assert page.next_page_token == ""

    assert client.revoke_sessions(user, except_ids=[laptop.id]) == 1
    assert [info.id for info in client.list_sessions(user).sessions] == [laptop.id]
    with pytest.raises(NotFoundError) as gone:
        client.session(phone.id).load()
    assert gone.value.reason == "REVOKED"
    assert isinstance(gone.value.ended_at, datetime)


def test_pages_continue_from_the_token(client: Any) -> None:
    user = _principal()
    ids = [client.create(principal=user).id for _ in range(3)]
    first = client.list_sessions(user, page_size=2)
    rest = client.list_sessions(user, page_size=2, page_token=first.next_page_token)
    assert [info.id for info in first.sessions + rest.sessions] == ids[::-1]
    assert rest.next_page_token == ""


def test_a_session_that_never_existed_has_no_reason(client: Any) -> None:
    with pytest.raises(NotFoundError) as unknown:
        client.session("A" * 32).load()
    assert unknown.value.reason == "UNKNOWN"
    assert unknown.value.ended_at is None


def _changes_of(session_id: str, client: Client) -> None:
    """Changes the session `session_id` once (the key "theme"), then deletes it."""
    session = client.session(session_id)
    session.set_string("theme", "dark")
    session.commit()
    session.delete()


def test_watch_yields_a_sessions_events_in_order_and_resumes(address: str) -> None:
    with Client(address) as client:
        session_id = client.create(principal=_principal()).id
        _changes_of(session_id, client)
        seen = []
        for event in client.watch_sessions(1, timeout=10):
            if event.id == session_id:
                seen.append(event)
            if len(seen) == 3:
                break
        assert [event.kind for event in seen] == [
            pb.SessionEvent.CREATED,
            pb.SessionEvent.UPDATED,
            pb.SessionEvent.DELETED,
        ]
        assert list(seen[1].changed_keys) == ["theme"]
        resumed = next(
            event
            for event in client.watch_sessions(seen[0].sequence + 1, timeout=10)
            if event.id == session_id
        )
        assert resumed.sequence == seen[1].sequence


def test_watch_from_a_sequence_outside_the_log_is_out_of_range(address: str) -> None:
    with Client(address) as client, pytest.raises(OutOfRangeError):
        next(client.watch_sessions(1 << 40, timeout=10))


async def test_the_asyncio_watch_yields_the_same_events(address: str) -> None:
    async with aio.Client(address) as client:
        created = await client.create(principal=_principal())
        await client.revoke_sessions(created.info.principal)
        kinds = []
        async for event in client.watch_sessions(1, timeout=10):
            if event.id == created.id:
                kinds.append(event.kind)
            if len(kinds) == 2:
                break
        assert kinds == [pb.SessionEvent.CREATED, pb.SessionEvent.REVOKED]
        with pytest.raises(OutOfRangeError):
            await anext(client.watch_sessions(1 << 40, timeout=10))
