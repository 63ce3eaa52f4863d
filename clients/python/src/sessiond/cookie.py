"""The session cookie of docs/COOKIES.md, shared by the Flask and Django integrations.

`CookieOptions.encode` and `decode` turn a session id into the cookie's value and back (signed
with HMAC-SHA256 when secrets are configured); `set_header` and `clear_header` build the exact
Set-Cookie values the spec gives, attributes in its order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

_ID = re.compile(r"[A-Za-z0-9_-]{32}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{43}")
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


@dataclass(frozen=True)
class CookieOptions:
    """The cookie's name, signing secrets (newest first: the first signs, any verifies; none:
    unsigned) and attributes. HttpOnly is always set. `secure=False` is for local development over
    plain http only. `max_age` (seconds) makes the cookie persistent; by default it is a browser
    session cookie. SameSite=None requires Secure."""

    name: str = "sessiond"
    secrets: Sequence[str] = ()
    secure: bool = True
    same_site: Literal["Strict", "Lax", "None"] = "Lax"
    path: str = "/"
    domain: str | None = None
    max_age: int | None = None

    def __post_init__(self) -> None:
        if self.same_site == "None" and not self.secure:
            raise ValueError("a SameSite=None cookie must be Secure")
        if self.same_site not in ("Strict", "Lax", "None"):
            raise ValueError(f"SameSite must be Strict, Lax or None, not {self.same_site!r}")

    def encode(self, session_id: str) -> str:
        """The cookie value for `session_id`: the id, or `<id>.<signature>` when signing."""
        if not self.secrets:
            return session_id
        return f"{session_id}.{_sign(self.secrets[0], session_id)}"

    def decode(self, value: str | None) -> str | None:
        """The session id a cookie value carries, or None when it does not have the spec's form
        (wrong length or characters, a missing or wrong signature when signing, a signature when
        not): such a cookie counts as no cookie. Signatures are compared in constant time."""
        if value is None:
            return None
        if not self.secrets:
            return value if _ID.fullmatch(value) else None
        session_id, dot, signature = value.partition(".")
        if not (dot and _ID.fullmatch(session_id) and _SIGNATURE.fullmatch(signature)):
            return None
        valid = False
        for secret in self.secrets:  # every secret is tried: the time does not tell which matched
            valid |= hmac.compare_digest(_sign(secret, session_id), signature)
        return session_id if valid else None

    def set_header(self, session_id: str) -> str:
        """The Set-Cookie value that gives the browser `session_id`."""
        max_age = [f"Max-Age={self.max_age}"] if self.max_age is not None else []
        return self._header(self.encode(session_id), max_age)

    def clear_header(self) -> str:
        """The Set-Cookie value that makes the browser forget the cookie."""
        return self._header("", ["Max-Age=0", f"Expires={_EPOCH}"])

    def _header(self, value: str, lifetime: list[str]) -> str:
        parts = [f"{self.name}={value}", f"Path={self.path}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        parts += lifetime
        parts.append("HttpOnly")
        if self.secure:
            parts.append("Secure")
        parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)


def _sign(secret: str, session_id: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), session_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
