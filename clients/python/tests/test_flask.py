"""sessiond.flask against a real sessiond: the cookie spec (docs/COOKIES.md), typed values, and
concurrent requests served by a real WSGI server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from typing import Any

import flask
import pytest
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from sessiond import Client, NotFoundError
from sessiond.flask import SessiondSessionInterface, end_session, rotate_session

SECRET = "test secret"
CLEARED = (
    "sessiond=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; "
    "SameSite=Lax"
)


def sign(session_id: str, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), session_id.encode(), hashlib.sha256).digest()
    return f"{session_id}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def make_app(client: Client, **options: Any) -> flask.Flask:
    app = flask.Flask(__name__)
    app.secret_key = SECRET
    app.session_interface = SessiondSessionInterface(client, **options)
    app.config["barrier"] = None

    @app.get("/read")
    def read() -> str:
        return str(flask.session.get("user", "anonymous"))

    @app.post("/set")
    def set_values() -> str:
        barrier = app.config["barrier"]
        if barrier is not None:
            len(flask.session)  # load, then let the other request load too
            barrier.wait(timeout=5)
        for key, value in flask.request.get_json().items():
            flask.session[key] = bytes.fromhex(value[4:]) if str(value)[:4] == "hex:" else value
        return "stored"

    @app.post("/cart")
    def add_to_cart() -> str:
        flask.session.setdefault("cart", []).append(flask.request.form["item"])
        return "added"

    @app.post("/login")
    def login() -> flask.Response:
        flask.session["user"] = flask.request.form["user"]
        rotate_session()
        return flask.redirect("/read", 303)

    @app.post("/logout")
    def logout() -> flask.Response:
        end_session()
        return flask.redirect("/read", 303)

    return app


@pytest.fixture
def sessiond_client(address: str) -> Iterator[Client]:
    with Client(address) as client:
        yield client


@pytest.fixture
def web(sessiond_client: Client) -> Any:
    return make_app(sessiond_client).test_client(use_cookies=False)


def cookie_of(response: TestResponse) -> str:
    """The session id the response's Set-Cookie gives (signature checked)."""
    (header,) = response.headers.getlist("Set-Cookie")
    value = header.split(";")[0].removeprefix("sessiond=")
    assert value == sign(value[:32]), header
    return value[:32]


def with_cookie(session_id: str, signed: bool = True) -> dict[str, str]:
    return {"Cookie": f"sessiond={sign(session_id) if signed else session_id}"}


def test_an_anonymous_read_creates_nothing_and_sends_no_cookie(web: Any) -> None:
    response = web.get("/read")
    assert response.text == "anonymous"
    assert "Set-Cookie" not in response.headers


def test_storing_creates_the_session_with_the_spec_cookie(
    web: Any, sessiond_client: Client
) -> None:
    response = web.post("/set", json={"user": "ada"})
    (header,) = response.headers.getlist("Set-Cookie")
    session_id = cookie_of(response)
    assert header == f"sessiond={sign(session_id)}; Path=/; HttpOnly; Secure; SameSite=Lax"
    assert len(header.split(";")[0]) == len("sessiond=") + 76
    assert sessiond_client.session(session_id).get_string("user") == "ada"
    again = web.get("/read", headers=with_cookie(session_id))
    assert again.text == "ada" and "Set-Cookie" not in again.headers
    assert "Cookie" in again.headers["Vary"]


def test_values_are_stored_per_the_cookie_spec_table(web: Any, sessiond_client: Client) -> None:
    values = {"s": "x", "i": 7, "f": 0.5, "b": True, "raw": "hex:00ff", "l": [1, "a"], "n": None}
    session = sessiond_client.session(cookie_of(web.post("/set", json=values)))
    kinds = {key: session.kind(key) for key in values}
    assert kinds == {
        "s": "string",
        "i": "int",
        "f": "double",
        "b": "bool",
        "raw": "bytes",
        "l": "json",
        "n": "json",
    }
    assert session.get_bytes("raw") == b"\x00\xff" and session.get_json("l") == [1, "a"]


def test_only_changed_keys_are_committed_nested_changes_included(
    web: Any, sessiond_client: Client
) -> None:
    session_id = cookie_of(web.post("/cart", data={"item": "apple"}))
    before = sessiond_client.session(session_id)
    before.load()
    assert web.get("/read", headers=with_cookie(session_id)).status_code == 200
    web.post("/cart", data={"item": "pear"}, headers=with_cookie(session_id))
    after = sessiond_client.session(session_id)
    assert after.get_json("cart") == ["apple", "pear"]
    assert after.info is not None and before.info is not None
    assert after.info.version == before.info.version + 1  # the read committed nothing


def test_login_rotates_before_the_redirect_and_keeps_the_data(
    web: Any, sessiond_client: Client
) -> None:
    first = cookie_of(web.post("/cart", data={"item": "apple"}))
    response = web.post("/login", data={"user": "ada"}, headers=with_cookie(first))
    assert response.status_code == 303
    rotated = cookie_of(response)
    assert rotated != first
    session = sessiond_client.session(rotated)
    assert session.get_string("user") == "ada" and session.get_json("cart") == ["apple"]
    with pytest.raises(NotFoundError):
        sessiond_client.session(first).load()


def test_logout_deletes_the_session_and_clears_the_cookie(
    web: Any, sessiond_client: Client
) -> None:
    session_id = cookie_of(web.post("/set", json={"user": "ada"}))
    response = web.post("/logout", headers=with_cookie(session_id))
    assert response.status_code == 303
    assert response.headers.getlist("Set-Cookie") == [CLEARED]
    with pytest.raises(NotFoundError):
        sessiond_client.session(session_id).load()


def test_a_gone_session_reads_empty_and_its_cookie_is_cleared(
    web: Any, sessiond_client: Client
) -> None:
    session = sessiond_client.create({"user": "ada"})
    session_id = session.id
    session.delete()
    response = web.get("/read", headers=with_cookie(session_id))
    assert response.text == "anonymous"
    assert response.headers.getlist("Set-Cookie") == [CLEARED]


@pytest.mark.parametrize(
    "value",
    [
        "A" * 32,  # unsigned while a secret is configured
        "A" * 32 + "." + "B" * 43,  # a wrong signature
        sign("A" * 32)[:-1],  # truncated
        sign("A" * 32, "another secret"),
        "not a cookie",
    ],
)
def test_a_malformed_cookie_counts_as_none(web: Any, sessiond_client: Client, value: str) -> None:
    session_id = sessiond_client.create({"user": "mallory"}).id
    forged = value.replace("A" * 32, session_id)
    response = web.get("/read", headers={"Cookie": f"sessiond={forged}"})
    assert response.text == "anonymous" and "Set-Cookie" not in response.headers
    stored = web.post("/set", json={"x": 1}, headers={"Cookie": f"sessiond={forged}"})
    assert cookie_of(stored) != session_id


def test_fallback_secrets_verify_and_the_first_signs(sessiond_client: Client) -> None:
    app = make_app(sessiond_client)
    app.secret_key = "new secret"
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET]
    web = app.test_client(use_cookies=False)
    old = sessiond_client.create({"user": "ada"}).id
    assert web.get("/read", headers=with_cookie(old)).text == "ada"
    response = web.post("/login", data={"user": "ada"}, headers=with_cookie(old))
    (header,) = response.headers.getlist("Set-Cookie")
    assert header.split(";")[0].removeprefix("sessiond=") == sign(header[9:41], "new secret")


def test_cookie_attributes_are_configurable(sessiond_client: Client) -> None:
    app = make_app(
        sessiond_client,
        cookie_name="sid",
        secrets=[],
        secure=False,
        same_site="Strict",
        path="/app",
        domain="example.test",
        max_age=3600,
    )
    response = app.test_client().post("/set", json={"user": "ada"})
    (header,) = response.headers.getlist("Set-Cookie")
    session_id = header.split(";")[0].removeprefix("sid=")
    assert len(session_id) == 32
    assert header == (
        f"sid={session_id}; Path=/app; Domain=example.test; Max-Age=3600; HttpOnly; SameSite=Strict"
    )
    with pytest.raises(ValueError):
        SessiondSessionInterface(sessiond_client, secure=False, same_site="None")


@pytest.fixture
def served(sessiond_client: Client) -> Iterator[tuple[flask.Flask, str]]:
    """The test app under werkzeug's threaded WSGI server on a free loopback port."""
    app = make_app(sessiond_client)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def post_concurrently(base: str, session_id: str, bodies: list[dict[str, str]]) -> list[int]:
    """POSTs each body to /set at once over real HTTP; returns the status codes in order."""
    import json
    import urllib.error
    import urllib.request

    statuses = [0] * len(bodies)

    def post(index: int) -> None:
        request = urllib.request.Request(
            f"{base}/set",
            json.dumps(bodies[index]).encode(),
            {"Content-Type": "application/json", **with_cookie(session_id)},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                statuses[index] = response.status
        except urllib.error.HTTPError as error:
            statuses[index] = error.code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    return statuses


def test_concurrent_requests_writing_different_keys_both_keep_their_writes(
    served: tuple[flask.Flask, str], sessiond_client: Client
) -> None:
    app, base = served
    session_id = sessiond_client.create({"user": "ada"}).id
    app.config["barrier"] = threading.Barrier(2)
    assert post_concurrently(base, session_id, [{"cart": "apple"}, {"theme": "dark"}]) == [200, 200]
    session = sessiond_client.session(session_id)
    assert session.get_string("cart") == "apple" and session.get_string("theme") == "dark"


def test_concurrent_requests_writing_one_key_one_fails(
    served: tuple[flask.Flask, str], sessiond_client: Client
) -> None:
    app, base = served
    session_id = sessiond_client.create({"user": "ada"}).id
    app.config["barrier"] = threading.Barrier(2)
    statuses = post_concurrently(base, session_id, [{"cart": "apple"}, {"cart": "pear"}])
    assert sorted(statuses) == [200, 500]
    winner = ["apple", "pear"][statuses.index(200)]
    assert sessiond_client.session(session_id).get_string("cart") == winner


def test_reads_come_from_the_near_cache_by_default(web: Any, sessiond_client: Client) -> None:
    session_id = sessiond_client.create({"user": "ada"}).id
    stats = sessiond_client.near_cache_stats
    deadline = time.monotonic() + 5
    while not stats() or not stats().leased:  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    hits = stats().hits  # type: ignore[union-attr]
    for _ in range(2):  # a miss that fills, then a hit
        assert web.get("/read", headers=with_cookie(session_id)).text == "ada"
    assert stats().hits == hits + 1  # type: ignore[union-attr]


def test_the_near_cache_can_be_turned_off(address: str) -> None:
    with Client(address) as client:
        web = make_app(client, near_cache_max_bytes=0).test_client(use_cookies=False)
        session_id = client.create({"user": "ada"}).id
        assert web.get("/read", headers=with_cookie(session_id)).text == "ada"
        assert client.near_cache_stats() is None
