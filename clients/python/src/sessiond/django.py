"""A Django session engine that keeps `request.session` in sessiond, and a middleware that gives
it the cookie of docs/COOKIES.md.

    SESSION_ENGINE = "sessiond.django"
    SESSIOND = {"ADDRESS": "127.0.0.1:50051"}          # other keys: see settings() below
    MIDDLEWARE = [..., "sessiond.django.SessionMiddleware", ...]  # instead of Django's

Each top-level key of the session is one typed sessiond entry (as in sessiond.flask). The session
loads lazily with one Get; `save()` writes only the keys the request changed (nested changes
included, no need to set `modified`), with the version it loaded, so concurrent requests writing
different keys both keep their writes; a ConflictError names the keys. `cycle_key()` (Django calls
it at login) is RotateId, `flush()` (logout) is Delete, new sessions get a fresh random id proposed
in CreateSession (CreateError if taken), and `clear_expired()` does nothing: sessiond expires
sessions itself, with its idle and absolute timeouts. `set_expiry()` and `get_expiry_age()` work as
in Django (the expiry is kept in the session) but only shape the cookie; the server's timeouts
still apply.

With `sessiond.django.SessionMiddleware` the cookie follows docs/COOKIES.md: name `sessiond`,
signed with SECRET_KEY (SECRET_KEY_FALLBACKS verify too), HttpOnly, Secure, SameSite=Lax, sent only
when the session is created or rotated, cleared when it ends or was found gone; attributes come
from SESSIOND, not from Django's SESSION_COOKIE_* settings. Django's own middleware also works with
this engine, with Django's cookie: named SESSION_COOKIE_NAME, an unsigned id, Django's attributes,
sent again on every change, and malformed cookies cost an rpc (INVALID_ARGUMENT, read as no
session).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.deprecation import MiddlewareMixin

from sessiond import _framework
from sessiond._core import new_session_id
from sessiond._near_cache import FRAMEWORK_MAX_BYTES
from sessiond.client import Client, Session
from sessiond.cookie import CookieOptions
from sessiond.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError

_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def settings() -> dict[str, Any]:
    """The SESSIOND setting with its defaults: ADDRESS (host:port, required), TIMEOUT (seconds
    per call, 2), BATCHING (True: concurrent requests' calls go together in Batch rpcs; see
    ClientSettings), NEAR_CACHE_MAX_BYTES (16 MiB: sessions read are kept in process memory and
    served from there while the invalidation stream holds its lease; 0: off), COOKIE_NAME
    ("sessiond"), SECURE (True), SAME_SITE ("Lax"), PATH ("/"), DOMAIN (None), MAX_AGE (None: a
    browser-session cookie)."""
    defaults: dict[str, Any] = {
        "TIMEOUT": 2.0,
        "BATCHING": True,
        "NEAR_CACHE_MAX_BYTES": FRAMEWORK_MAX_BYTES,
        "COOKIE_NAME": "sessiond",
        "SECURE": True,
        "SAME_SITE": "Lax",
        "PATH": "/",
        "DOMAIN": None,
        "MAX_AGE": None,
    }
    return {**defaults, **getattr(django_settings, "SESSIOND", {})}


@functools.cache
def _client(address: str, timeout: float, batching: bool, near_cache_max_bytes: int) -> Client:
    return Client(
        address, timeout=timeout, batching=batching, near_cache_max_bytes=near_cache_max_bytes
    )


def client() -> Client:
    """The process's sessiond client for the SESSIOND setting."""
    configured = settings()
    return _client(
        configured["ADDRESS"],
        float(configured["TIMEOUT"]),
        bool(configured["BATCHING"]),
        int(configured["NEAR_CACHE_MAX_BYTES"]),
    )


def cookie_options() -> CookieOptions:
    """The cookie of docs/COOKIES.md as SESSIOND and SECRET_KEY(_FALLBACKS) configure it."""
    configured = settings()
    keys = [django_settings.SECRET_KEY, *getattr(django_settings, "SECRET_KEY_FALLBACKS", [])]
    return CookieOptions(
        name=configured["COOKIE_NAME"],
        secrets=tuple(str(key) for key in keys if key),
        secure=configured["SECURE"],
        same_site=configured["SAME_SITE"],
        path=configured["PATH"],
        domain=configured["DOMAIN"],
        max_age=configured["MAX_AGE"],
    )


class SessionStore(SessionBase):
    """Django's SessionBase over one sessiond session (see the module's doc)."""

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The sessiond session the data was loaded from, and the data's snapshot then.
        self._backing: Session | None = None
        self._loaded: dict[str, bytes] = {}

    def _get_new_session_key(self) -> str:
        """A fresh random id in sessiond's format; save(must_create=True) proposes it."""
        return new_session_id()

    def load(self) -> dict[str, Any]:
        """Every entry of the session (one Get); a session that is unknown, expired, deleted or
        has a malformed key loads empty and loses its key, as Django's backends do."""
        assert self.session_key is not None
        try:
            backing = client().session(self.session_key)
            data = _framework.loaded_data(backing)
        except (NotFoundError, InvalidArgumentError):
            self._session_key = None
            self._backing, self._loaded = None, {}
            return {}
        self._backing = backing
        self._loaded = _framework.snapshot(data)
        return data

    def exists(self, session_key: str | None) -> bool:
        """Whether sessiond has a live session `session_key` (one Get)."""
        if not session_key:
            return False
        try:
            client().session(session_key).load()
        except (NotFoundError, InvalidArgumentError):
            return False
        return True

    def create(self) -> None:
        """Creates a new session holding the current data under a fresh id."""
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # the fresh id was taken: draw another
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        """must_create: creates the session under session_key with the current data (CreateError
        if the id is taken). Otherwise commits the keys changed since the load in one rpc
        (UpdateError if the session is gone; ConflictError if another request changed one of
        them); a session without a key is created."""
        if self.session_key is None:
            self.create()
            return
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]  # not in the stubs
        if must_create:
            try:
                backing = client().create(data, session_id=self.session_key)
            except AlreadyExistsError as taken:
                raise CreateError from taken
        else:
            backing = self._backing or client().session(self.session_key)
            _framework.record_changes(backing, self._loaded, data)
            try:
                backing.commit()
            except NotFoundError as gone:
                raise UpdateError from gone
        self._backing = backing
        self._loaded = _framework.snapshot(data)

    def delete(self, session_key: str | None = None) -> None:
        """Ends the session `session_key` (default: this one) in sessiond (Delete)."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
            self._backing, self._loaded = None, {}
        with contextlib.suppress(InvalidArgumentError):  # a malformed key names no session
            client().session(session_key).delete()

    def cycle_key(self) -> None:
        """Moves the session to a new id with the same data (RotateId; the old id is dead at
        once); a session not stored yet is created under a fresh id."""
        self._get_session()  # type: ignore[attr-defined]  # loads: a gone session has no backing
        if self._backing is None:
            self.create()
            return
        self._backing.rotate_id()
        self._session_key = self._backing.id
        self.modified = True

    async def acycle_key(self) -> None:
        """cycle_key (RotateId) for async views (Django's default would create and delete)."""
        await sync_to_async(self.cycle_key)()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: sessiond expires sessions itself."""


class SessionMiddleware(MiddlewareMixin):
    """Django's SessionMiddleware with the cookie of docs/COOKIES.md (see the module's doc)."""

    def process_request(self, request: HttpRequest) -> None:
        """Gives the request its session from a valid cookie, unloaded: no rpc yet."""
        options = cookie_options()
        session_key = options.decode(request.COOKIES.get(options.name))
        request.session = SessionStore(session_key)
        request._sessiond_cookie_key = session_key  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Commits what the request changed (not for 5xx responses, as Django), then sets the
        cookie if the id changed (created, rotated) or clears it (ended, found gone)."""
        session = getattr(request, "session", None)
        if not isinstance(session, SessionStore):
            return response
        if session.accessed:
            patch_vary_headers(response, ("Cookie",))
        if session.accessed and response.status_code < 500 and not session.is_empty():
            try:
                session.save()
            except UpdateError as gone:
                raise SessionInterrupted(
                    "The request's session was deleted before the request completed."
                ) from gone
        cookie_key = getattr(request, "_sessiond_cookie_key", None)
        if session.session_key != cookie_key:
            options = cookie_options()
            common: dict[str, Any] = {
                "path": options.path,
                "domain": options.domain,
                "secure": options.secure,
                "httponly": True,
                "samesite": options.same_site,
            }
            if session.session_key:
                response.set_cookie(
                    options.name, options.encode(session.session_key), options.max_age, **common
                )
            else:
                response.set_cookie(options.name, "", 0, _EPOCH, **common)
        return response
