"""The errors every call of this package raises: one class per condition a caller handles.

Each error carries the gRPC status code and the server's message, which names the field, what was
wrong and the limit with the flag that sets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import grpc
from google.rpc.status_pb2 import Status

from sessiond.v1 import session_pb2 as pb

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class SessiondError(Exception):
    """A call to sessiond failed; `code` is the gRPC status code, `details` the server's message."""

    def __init__(self, code: grpc.StatusCode, details: str, message: str | None = None) -> None:
        super().__init__(message or f"sessiond: {code.name}: {details}")
        self.code = code
        self.details = details


class NotFoundError(SessiondError):
    """The session is unknown, expired or deleted (NOT_FOUND). `reason` says why it is gone while
    the server remembers (its --gone_retention): "EXPIRED_IDLE", "EXPIRED_ABSOLUTE", "DELETED",
    "REVOKED", "EVICTED" or "ROTATED", with `ended_at` (UTC); "UNKNOWN" and None otherwise."""

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        reason: str = "UNKNOWN",
        ended_at: datetime | None = None,
    ) -> None:
        super().__init__(code, details)
        self.reason = reason
        self.ended_at = ended_at


class OutOfRangeError(SessiondError):
    """watch_sessions asked for a sequence the server's event log no longer (or does not yet) hold
    (OUT_OF_RANGE): re-read the sessions you track, then watch from the sequence the message
    names."""


class InvalidArgumentError(SessiondError):
    """The request was malformed: a bad id, key, value or timeout (INVALID_ARGUMENT)."""


class AlreadyExistsError(SessiondError):
    """The id proposed for a new session is taken (ALREADY_EXISTS)."""


class ConflictError(SessiondError):
    """ABORTED: someone else changed the session. `conflicting_keys` are the keys this commit wrote
    that changed after the version it read (sorted; empty for an if_version mismatch);
    `current_version` is the session's version then (None if the server sent no details)."""

    def __init__(
        self,
        details: str,
        conflicting_keys: tuple[str, ...],
        current_version: int | None,
    ) -> None:
        named = ", ".join(repr(key) for key in conflicting_keys) or "the whole session"
        super().__init__(
            grpc.StatusCode.ABORTED,
            details,
            f"sessiond: conflict on {named} (session now at version {current_version}): {details}",
        )
        self.conflicting_keys = conflicting_keys
        self.current_version = current_version


class UnavailableError(SessiondError):
    """sessiond at `address` cannot be reached or cannot serve right now (UNAVAILABLE); nothing
    was written by the failed call."""

    def __init__(self, address: str, details: str) -> None:
        super().__init__(
            grpc.StatusCode.UNAVAILABLE,
            details,
            f"sessiond at {address} is unavailable: {details}",
        )
        self.address = address


class DeadlineExceededError(SessiondError):
    """The call's deadline passed before sessiond answered (DEADLINE_EXCEEDED); a mutation may or
    may not have been applied."""


class CancelledError(SessiondError):
    """The call was cancelled before sessiond answered (CANCELLED); a mutation may or may not have
    been applied."""


LOST_REPLY = (UnavailableError, DeadlineExceededError, CancelledError)
"""The errors after which a mutation is retried with its request_id."""

_BY_CODE: dict[grpc.StatusCode, type[SessiondError]] = {
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.OUT_OF_RANGE: OutOfRangeError,
}


class FailedCall(Protocol):
    """What a failed rpc tells in grpc and grpc.aio alike."""

    def code(self) -> grpc.StatusCode: ...

    def details(self) -> str | None: ...

    def trailing_metadata(self) -> Any: ...


def from_call(address: str, call: FailedCall) -> SessiondError:
    """The typed error for the rpc `call` to `address` that failed, caused by it."""
    trailer = tuple(call.trailing_metadata() or ())
    error = _from_status(
        address,
        call.code(),
        call.details() or "",
        _detail(trailer, pb.ConflictDetails),
        _detail(trailer, pb.NotFoundDetails),
    )
    if isinstance(call, BaseException):
        error.__cause__ = call
    return error


def from_result(address: str, result: pb.BatchResult) -> SessiondError:
    """The typed error for the failed operation of a Batch to `address` whose outcome is `result`
    (code not 0): the same error as its unary call raises."""
    return _from_status(
        address,
        _CODES.get(result.code, grpc.StatusCode.UNKNOWN),
        result.message,
        result.conflict if result.HasField("conflict") else None,
        result.not_found if result.HasField("not_found") else None,
    )


_CODES = {code.value[0]: code for code in grpc.StatusCode}
"""Each grpc.StatusCode by its number (google.rpc.Code)."""


def _from_status(
    address: str,
    code: grpc.StatusCode,
    details: str,
    conflict: pb.ConflictDetails | None,
    gone: pb.NotFoundDetails | None,
) -> SessiondError:
    """The typed error for a call to `address` that failed with `code` and the message `details`,
    carrying `conflict` (on ABORTED) or `gone` (on NOT_FOUND) as its status details if any."""
    if code == grpc.StatusCode.UNAVAILABLE:
        return UnavailableError(address, details)
    if code == grpc.StatusCode.ABORTED:
        if conflict is None:
            return ConflictError(details, (), None)
        return ConflictError(details, tuple(conflict.conflicting_keys), conflict.current_version)
    if code == grpc.StatusCode.NOT_FOUND:
        if gone is None or gone.reason == pb.NotFoundDetails.UNKNOWN:
            return NotFoundError(code, details)
        reason = pb.NotFoundDetails.Reason.Name(gone.reason)
        return NotFoundError(code, details, reason, gone.ended_at.ToDatetime(UTC))
    return _BY_CODE.get(code, SessiondError)(code, details)


D = TypeVar("D", pb.ConflictDetails, pb.NotFoundDetails)


def _detail(trailing_metadata: Iterable[tuple[str, str | bytes]], kind: type[D]) -> D | None:
    """The detail of type `kind` in the google.rpc.Status of the grpc-status-details-bin
    trailer."""
    for key, value in trailing_metadata:
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = Status.FromString(value)
        for detail in status.details:
            found = kind()
            if detail.Unpack(found):
                return found
    return None
