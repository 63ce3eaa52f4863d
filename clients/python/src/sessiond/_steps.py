"""The protocol of a Session, written once for the sync and the asyncio client ("sans I/O").

Each operation that talks to the server (load, commit, create, rotate, delete, run) is a generator
that yields what it needs done — an rpc, a pause, the caller's unit of work — and receives the
outcome: the rpc's response is sent in, its failure is thrown in as a typed SessiondError. A driver
(sessiond.Client._drive, sessiond.aio.Client._drive) does the I/O, blocking or awaiting.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from google.protobuf.message import Message

T = TypeVar("T")


@dataclass(frozen=True)
class Rpc:
    """Call `method` of SessionService with `request` and this deadline in seconds from now."""

    method: str
    request: Message
    timeout: float


@dataclass(frozen=True)
class Sleep:
    """Pause for `seconds` before the next step."""

    seconds: float


@dataclass(frozen=True)
class Work:
    """Run the caller's unit of work and send its result in."""


Step: TypeAlias = Rpc | Sleep | Work
Steps: TypeAlias = Generator[Step, Any, T]
"""An operation: yields steps, receives their outcomes, returns a T."""


def advance(steps: Steps[T], outcome: Any, error: BaseException | None) -> tuple[Step | None, Any]:
    """Sends the last step's outcome into `steps` (or throws its error) and returns the next step,
    or None and the operation's result once it has finished."""
    try:
        return (steps.throw(error) if error is not None else steps.send(outcome)), None
    except StopIteration as done:
        return None, done.value
