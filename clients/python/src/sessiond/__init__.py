"""sessiond: the Python client of the sessiond session service.

`Client` (blocking) and `sessiond.aio.Client` (asyncio) open and create sessions; a `Session`
loads lazily, records typed changes locally and commits them in one rpc with per-key conflict
detection. Framework glue: `sessiond.flask` (a Flask SessionInterface) and `sessiond.django` (a
Django session engine).
"""

from sessiond._core import ClientSettings, SessionSettings, new_session_id
from sessiond._near_cache import NearCacheStats
from sessiond._values import JsonValue, SessionValue, ValueKind
from sessiond.client import Client, Session
from sessiond.errors import (
    AlreadyExistsError,
    CancelledError,
    ConflictError,
    DeadlineExceededError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    SessiondError,
    UnavailableError,
)
from sessiond.info import SessionInfo, SessionPage

__all__ = [
    "AlreadyExistsError",
    "CancelledError",
    "Client",
    "ClientSettings",
    "ConflictError",
    "DeadlineExceededError",
    "InvalidArgumentError",
    "JsonValue",
    "NearCacheStats",
    "NotFoundError",
    "OutOfRangeError",
    "Session",
    "SessionInfo",
    "SessionPage",
    "SessionSettings",
    "SessionValue",
    "SessiondError",
    "UnavailableError",
    "ValueKind",
    "new_session_id",
]
