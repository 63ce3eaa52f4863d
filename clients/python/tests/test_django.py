"""sessiond.django against a real sessiond: Django's session backend behaviours, and the cookie
of docs/COOKIES.md through Django's test client."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.test import Client as DjangoClient

from sessiond import Client, ConflictError, NotFoundError
from sessiond.django import SessionStore, client

SECRET = "django test secret"


@pytest.fixture(autouse=True)
def sessiond_settings(settings: Any, address: str) -> None:
    settings.SESSIOND = {"ADDRESS": address}


@pytest.fixture
def sessiond_client(address: str) -> Iterator[Client]:
    with Client(address) as client:
        yield client


def sign(session_id: str) -> str:
    digest = hmac.new(SECRET.encode(), session_id.encode(), hashlib.sha256).digest()
    return f"{session_id}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def test_a_new_session_is_saved_under_a_fresh_id(sessiond_client: Client) -> None:
    store = SessionStore()
    assert not store.modified and not store.accessed
    assert store.get("cat") is None and store.is_empty()
    store["cat"] = "tabby"
    store["lives"] = 9
    assert store.modified
    store.save()
    assert store.session_key is not None and len(store.session_key) == 32
    assert sessiond_client.session(store.session_key).get_int("lives") == 9
    reopened = SessionStore(store.session_key)
    assert dict(reopened.items()) == {"cat": "tabby", "lives": 9}
    assert reopened.exists(store.session_key)


def test_the_dict_api(sessiond_client: Client) -> None:
    store = SessionStore()
    store.update({"a": 1, "b": [1, 2], "c": None})
    assert store.pop("a") == 1 and store.pop("absent", "x") == "x"
    assert store.setdefault("d", 4.5) == 4.5 and "d" in store
    store.save()
    reopened = SessionStore(store.session_key)
    assert sorted(reopened.keys()) == ["b", "c", "d"] and reopened["b"] == [1, 2]
    reopened.clear()
    reopened.save()
    assert sessiond_client.session(reopened.session_key or "").keys() == []


def test_save_must_create_refuses_a_taken_id() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    again = SessionStore(store.session_key)
    with pytest.raises(CreateError):
        again.save(must_create=True)


def test_delete_and_exists() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    assert store.exists(key)
    store.delete()
    assert not store.exists(key)
    assert not store.exists("not a key") and not store.exists(None)
    SessionStore().delete("A" * 32)  # an unknown session: nothing to do


def test_flush_deletes_and_forgets_the_key(sessiond_client: Client) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key or ""
    store.flush()
    assert store.session_key is None and dict(store.items()) == {}
    with pytest.raises(NotFoundError):
        sessiond_client.session(key).load()


def test_cycle_key_rotates_and_keeps_the_data(sessiond_client: Client) -> None:
    store = SessionStore()
    store["user"] = "ada"
    store.save()
    old = store.session_key or ""
    reopened = SessionStore(old)
    reopened.cycle_key()
    assert reopened.session_key != old and reopened["user"] == "ada"
    with pytest.raises(NotFoundError):
        sessiond_client.session(old).load()
    assert sessiond_client.session(reopened.session_key or "").get_string("user") == "ada"
    fresh = SessionStore()
    fresh["x"] = 1
    fresh.cycle_key()  # not stored yet: created under a fresh id
    assert SessionStore(fresh.session_key)["x"] == 1


async def test_the_async_api_rotates_too(sessiond_client: Client) -> None:
    store = SessionStore()
    await store.aset("user", "ada")
    await store.asave()
    old = store.session_key or ""
    await store.acycle_key()
    assert store.session_key != old and await store.aget("user") == "ada"
    with pytest.raises(NotFoundError):
        sessiond_client.session(old).load()


def test_a_gone_or_malformed_key_loads_empty() -> None:
    for key in ("A" * 32, "malformed!"):
        store = SessionStore(key)
        assert dict(store.items()) == {} and store.session_key is None


def test_saving_a_session_deleted_meanwhile_is_an_update_error() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    reopened = SessionStore(store.session_key)
    reopened["b"] = 2
    store.delete()
    with pytest.raises(UpdateError):
        reopened.save()


def test_expiry_is_djangos_and_clear_expired_does_nothing() -> None:
    store = SessionStore()
    assert store.get_expiry_age() == 1209600  # SESSION_COOKIE_AGE
    store.set_expiry(300)
    store.save()
    assert SessionStore(store.session_key).get_expiry_age() == 300
    SessionStore.clear_expired()


def test_concurrent_saves_conflict_only_on_the_same_key() -> None:
    store = SessionStore()
    store.update({"cart": [], "theme": "light"})
    store.save()
    first, second = SessionStore(store.session_key), SessionStore(store.session_key)
    first["cart"].append("apple")  # a nested change, no `modified = True`
    second["theme"] = "dark"
    first.save()
    second.save()
    assert dict(SessionStore(store.session_key).items()) == {"cart": ["apple"], "theme": "dark"}
    third = SessionStore(store.session_key)
    third["cart"] = ["pear"]
    len(first.keys())
    first["cart"] = ["plum"]
    third.save()
    with pytest.raises(ConflictError) as raised:
        first.save()
    assert raised.value.conflicting_keys == ("cart",)


def session_cookie(response: Any) -> Any:
    return response.cookies["sessiond"]


def test_middleware_anonymous_reads_send_no_cookie() -> None:
    response = DjangoClient().get("/read")
    assert response.content == b"anonymous" and "sessiond" not in response.cookies


def test_middleware_creates_with_the_spec_cookie_and_rotates_and_ends(
    sessiond_client: Client,
) -> None:
    web = DjangoClient()
    created = session_cookie(web.post("/cart", {"item": "apple"}))
    session_id = created.value[:32]
    assert created.value == sign(session_id)
    assert created["httponly"] and created["secure"] and created["samesite"] == "Lax"
    assert created["path"] == "/" and created["max-age"] == "" and created["expires"] == ""
    assert sessiond_client.session(session_id).get_json("cart") == ["apple"]

    again = web.post("/cart", {"item": "pear"})  # the test client sends the cookie back
    assert "sessiond" not in again.cookies
    assert sessiond_client.session(session_id).get_json("cart") == ["apple", "pear"]

    login = web.post("/login", {"user": "ada"})
    assert login.status_code == 303
    rotated = session_cookie(login).value
    assert rotated == sign(rotated[:32]) and rotated[:32] != session_id
    assert web.get("/read").content == b"ada"
    with pytest.raises(NotFoundError):
        sessiond_client.session(session_id).load()

    logout = web.post("/logout")
    cleared = session_cookie(logout)
    assert cleared.value == "" and cleared["max-age"] == 0
    assert cleared["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    with pytest.raises(NotFoundError):
        sessiond_client.session(rotated[:32]).load()


def test_middleware_clears_the_cookie_of_a_gone_session(sessiond_client: Client) -> None:
    session = sessiond_client.create({"user": "ada"})
    web = DjangoClient()
    web.cookies["sessiond"] = sign(session.id)
    session.delete()
    response = web.get("/read")
    assert response.content == b"anonymous" and session_cookie(response).value == ""


def test_middleware_ignores_forged_cookies(sessiond_client: Client) -> None:
    session_id = sessiond_client.create({"user": "mallory"}).id
    web = DjangoClient()
    for forged in (session_id, session_id + "." + "B" * 43, sign(session_id)[:-1]):
        web.cookies["sessiond"] = forged
        response = web.get("/read")
        assert response.content == b"anonymous" and "sessiond" not in response.cookies


def test_djangos_own_middleware_works_with_its_own_cookie(settings: Any) -> None:
    settings.MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]
    web = DjangoClient()
    response = web.post("/login", {"user": "ada"})
    key = response.cookies["sessionid"].value
    assert len(key) == 32 and web.get("/read").content == b"ada"


def test_the_near_cache_is_on_by_default_and_can_be_turned_off(settings: Any, address: str) -> None:
    stats = client().near_cache_stats()
    assert stats is not None
    settings.SESSIOND = {"ADDRESS": address, "NEAR_CACHE_MAX_BYTES": 0}
    assert client().near_cache_stats() is None
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert SessionStore(store.session_key)["a"] == 1
