"""SessionInfo: what the server reports about a session after every call that returns one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sessiond.v1 import session_pb2 as pb


@dataclass(frozen=True)
class SessionInfo:
    """A session's id, version and expiry times as of the rpc that returned them (UTC)."""

    id: str
    version: int
    created_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    idle_timeout: timedelta
    principal: str

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
        )
