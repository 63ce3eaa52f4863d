"""SessionInfo: what the server reports about a session after every call that returns one;
SessionPage: one page of a principal's sessions (ListSessions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sessiond.v1 import session_pb2 as pb


@dataclass(frozen=True)
class SessionInfo:
    """A session's id, version and expiry times as of the rpc that returned them (UTC), its
    principal and labels, and when it was last used (None where the rpc does not report it)."""

    id: str
    version: int
    created_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    idle_timeout: timedelta
    principal: str
    labels: Mapping[str, str] = field(default_factory=dict)
    last_access_at: datetime | None = None

    @classmethod
    def from_proto(cls, info: pb.SessionInfo) -> SessionInfo:
        """The SessionInfo an rpc returned."""
        return cls(
            id=info.id,
            version=info.version,
            created_at=info.created_at.ToDatetime(UTC),
            idle_expires_at=info.idle_expires_at.ToDatetime(UTC),
            absolute_expires_at=info.absolute_expires_at.ToDatetime(UTC),
            idle_timeout=info.idle_timeout.ToTimedelta(),
            principal=info.principal,
            labels=dict(info.labels),
            last_access_at=(
                info.last_access_at.ToDatetime(UTC) if info.HasField("last_access_at") else None
            ),
        )


@dataclass(frozen=True)
class SessionPage:
    """One page of a principal's live sessions, newest first, and the token of the next page
    (empty on the last one)."""

    sessions: list[SessionInfo]
    next_page_token: str
