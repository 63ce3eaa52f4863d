"""A Flask SessionInterface that keeps `flask.session` in sessiond, per docs/COOKIES.md.

    import sessiond
    from sessiond.flask import SessiondSessionInterface, rotate_session, end_session

    app.session_interface = SessiondSessionInterface(sessiond.Client("127.0.0.1:50051"))
    # near_cache_max_bytes=0: no near cache (default: 16 MiB)

`flask.session` is a dict of top-level keys, each stored as one typed sessiond entry (str, bytes,
bool, int, float as such; lists, dicts, None as JSON). The session is loaded on the first access
with one Get; a request that stores nothing creates no session and sends no cookie; at the end of
the request (before Flask sends the status line and headers, redirects included) one Commit writes
only the keys the request changed, with the version it loaded, so concurrent requests writing
different keys both keep their writes. A failed commit (a ConflictError naming the keys, or any
other SessiondError) is the request's error: Flask answers 500. Call rotate_session() at login and
end_session() at logout.

The cookie is signed with the app's SECRET_KEY (and verified with SECRET_KEY_FALLBACKS too) unless
the interface is given its own `secrets`; an app without a secret key sends unsigned ids.
`session.permanent` has no effect: the cookie's lifetime is the `max_age` option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Literal

import flask
from flask.sessions import SessionInterface, SessionMixin

from sessiond import _framework
from sessiond._near_cache import FRAMEWORK_MAX_BYTES
from sessiond._values import SessionValue
from sessiond.client import Client, Session
from sessiond.cookie import CookieOptions
from sessiond.errors import NotFoundError


class SessiondSession(SessionMixin):
    """`flask.session` for one request: a dict loaded from sessiond on first access."""

    def __init__(self, client: Client, cookie_id: str | None) -> None:
        self.cookie_id = cookie_id
        """The id the request's cookie carried, if it had a valid one."""
        self.backing: Session = client.session(cookie_id) if cookie_id else client.new_session()
        """The sessiond session behind the dict (replaced by a new one when found gone)."""
        self._client = client
        self._data: dict[str, SessionValue] | None = None
        self._loaded: dict[str, bytes] = {}
        self._committed = False
        self.accessed = False

    @property
    def permanent(self) -> bool:
        """Always False: the cookie's lifetime is the interface's `max_age` option."""
        return False

    @permanent.setter
    def permanent(self, value: bool) -> None:
        """Ignored (Flask's default session stores it as a key; this one does not)."""

    @property
    def new(self) -> bool:
        """Whether the session does not exist in sessiond yet."""
        return not self.backing.is_saved

    @new.setter
    def new(self, value: bool) -> None:
        raise AttributeError("SessiondSession.new follows the session; it cannot be set")

    @property
    def modified(self) -> bool:
        """Whether the request changed a key (known for sure only when the request ends)."""
        return self._data is not None and _framework.snapshot(self._data) != self._loaded

    @modified.setter
    def modified(self, value: bool) -> None:
        """Ignored: the commit finds changed keys by comparison, nested changes included."""

    @property
    def data(self) -> dict[str, SessionValue]:
        """The entries, loaded with one Get on first use; a session found unknown, expired or
        deleted is replaced by an empty new one."""
        self.accessed = True
        if self._data is None:
            try:
                self._data = _framework.loaded_data(self.backing)
            except NotFoundError:
                self.backing = self._client.new_session()
                self._data = {}
            self._loaded = _framework.snapshot(self._data)
        return self._data

    def __getitem__(self, key: str) -> SessionValue:
        return self.data[key]

    def __setitem__(self, key: str, value: SessionValue) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def rotate(self) -> None:
        """Moves the session to a new id with the same data (RotateId); the response carries the
        new cookie. A session not stored yet gets a fresh id anyway when it is."""
        _ = self.data  # a session found gone becomes new: nothing to rotate
        self.backing.rotate_id()

    def end(self) -> None:
        """Deletes the session (Delete) and empties the dict; the response clears the cookie,
        unless the request then stores something, which starts a new session."""
        self.backing.delete()
        self._data, self._loaded = {}, {}

    def commit(self) -> None:
        """Writes the keys the request changed in one rpc (CreateSession for a new session), once
        per request: a failed commit is not sent again by Flask's error handling."""
        if self._committed:
            return
        self._committed = True
        if self._data is not None:
            _framework.record_changes(self.backing, self._loaded, self._data)
            self.backing.commit()
            self._loaded = _framework.snapshot(self._data)

    def set_cookie_header(self, options: CookieOptions) -> str | None:
        """The Set-Cookie value the response needs: the new id after a creation or a rotation,
        a clearing one when the request's session ended or was gone; None when unchanged."""
        session_id = self.backing.id
        if session_id == (self.cookie_id or ""):
            return None
        return options.set_header(session_id) if session_id else options.clear_header()


class SessiondSessionInterface(SessionInterface):
    """Keeps Flask sessions in sessiond through `client`, with the cookie of docs/COOKIES.md:
    named `cookie_name`, signed with `secrets` (default: the app's SECRET_KEY, then its
    SECRET_KEY_FALLBACKS), and the attributes `secure`, `same_site`, `path`, `domain`, `max_age`.
    Turns `client`'s near cache on with `near_cache_max_bytes` (16 MiB; 0 leaves it off) unless
    it has one already: sessions are then read from process memory while the invalidation stream
    holds its lease (see the README)."""

    def __init__(
        self,
        client: Client,
        *,
        cookie_name: str = "sessiond",
        secrets: Sequence[str] | None = None,
        secure: bool = True,
        same_site: Literal["Strict", "Lax", "None"] = "Lax",
        path: str = "/",
        domain: str | None = None,
        max_age: int | None = None,
        near_cache_max_bytes: int = FRAMEWORK_MAX_BYTES,
    ) -> None:
        self.client = client
        if near_cache_max_bytes:
            client._use_near_cache(near_cache_max_bytes)
        self._secrets = secrets
        self._options = CookieOptions(cookie_name, (), secure, same_site, path, domain, max_age)

    def cookie_options(self, app: flask.Flask) -> CookieOptions:
        """The cookie options with the secrets that apply to `app`."""
        secrets = self._secrets
        if secrets is None:
            fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
            secrets = [str(key) for key in [app.secret_key, *fallbacks] if key]
        return dataclasses.replace(self._options, secrets=tuple(secrets))

    def open_session(self, app: flask.Flask, request: flask.Request) -> SessiondSession:
        """The request's session, not loaded: no rpc until the handler uses it."""
        options = self.cookie_options(app)
        return SessiondSession(self.client, options.decode(request.cookies.get(options.name)))

    def save_session(
        self,
        app: flask.Flask,
        session: SessionMixin,
        response: flask.Response,
    ) -> None:
        """Commits the request's changes, then sets or clears the cookie if the id changed."""
        assert isinstance(session, SessiondSession)
        session.commit()
        if session.accessed:
            response.vary.add("Cookie")
        header = session.set_cookie_header(self.cookie_options(app))
        if header is not None:
            response.headers.add("Set-Cookie", header)


def _current() -> SessiondSession:
    session = flask.session
    if not isinstance(session, SessiondSession):
        raise RuntimeError("the app's session_interface is not a SessiondSessionInterface")
    return session


def rotate_session() -> None:
    """Call at login: moves the current request's session to a new id with the same data
    (session-fixation defence); the response sends the new cookie."""
    _current().rotate()


def end_session() -> None:
    """Call at logout: deletes the current request's session in sessiond and clears the cookie."""
    _current().end()
