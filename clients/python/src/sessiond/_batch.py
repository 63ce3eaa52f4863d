"""Automatic batching, the part the blocking and the asyncio client share ("sans I/O").

A unary call the client makes becomes a Call. A Coalescer queues calls and hands out the batches
to send, within the limits of ClientOptions (max_batch_operations, max_batch_bytes); when a queue
is sent is the client's business (sessiond._group_commit: group commit; sessiond._turn_batching:
the end of the event-loop turn). outgoing() says how a batch is sent: one call as its own unary
rpc, more as one Batch rpc, whose results deliver() gives each caller as its unary call would
have ended; fail() ends the calls of an rpc that failed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import grpc
from google.protobuf.message import Message

from sessiond.errors import (
    DeadlineExceededError,
    FailedCall,
    SessiondError,
    from_call,
    from_result,
)
from sessiond.v1 import session_pb2 as pb

_FIELDS = {
    "".join(word.title() for word in case.name.split("_")): case.name
    for case in pb.BatchOperation.DESCRIPTOR.oneofs_by_name["request"].fields
}
"""The BatchOperation (and BatchResult) field of each batchable method, e.g. "RotateId":
"rotate_id"."""

CHANNEL_OPTIONS = (("grpc.max_receive_message_length", -1),)
"""The options of a client's channel: no limit on the size of a response, since a Batch's holds
up to max_batch_operations responses (each within the server's limits) and may well be larger than
gRPC's default of 4 MiB."""

Settle = Callable[[Any, Exception | None], None]
"""Ends a call with its response, or with None and the error its caller raises."""


@dataclass(eq=False)
class Call:
    """One unary call waiting to be sent: `method` of SessionService with `request`, due by
    `deadline` (time.monotonic()), ended by `settle` once its outcome is known."""

    method: str
    request: Message
    deadline: float
    settle: Settle
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = self.request.ByteSize()

    def remaining(self) -> float:
        """Seconds until the deadline (negative once it passed)."""
        return self.deadline - time.monotonic()


def new_call(method: str, request: Message, timeout: float, settle: Settle) -> Call:
    """The Call of `method` with `request` and a deadline `timeout` seconds from now."""
    return Call(method, request, time.monotonic() + timeout, settle)


def deadline_exceeded() -> DeadlineExceededError:
    """The error of a caller whose own deadline passed before its batch returned: what a unary
    call whose deadline passes raises."""
    return DeadlineExceededError(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")


class Coalescer:
    """The queue of calls not sent yet. A batch it hands out has at most `max_operations` calls
    whose requests add up to at most `max_bytes` (a call larger than that alone is a batch of
    one). Not thread-safe: the blocking client holds a lock around it."""

    def __init__(self, max_operations: int, max_bytes: int) -> None:
        """A queue of batches within these limits; ValueError unless both are at least 1."""
        if max_operations < 1 or max_bytes < 1:
            raise ValueError(
                "max_batch_operations and max_batch_bytes must be at least 1, not "
                f"{max_operations} and {max_bytes}"
            )
        self._max_operations = max_operations
        self._max_bytes = max_bytes
        self._queue: deque[Call] = deque()
        self._bytes = 0

    def __len__(self) -> int:
        """How many calls are queued."""
        return len(self._queue)

    def add(self, call: Call) -> list[list[Call]]:
        """Queues `call` and returns the batches to send at once: `call` alone if it is over the
        bytes limit by itself; the queue before it if `call` would push it over the bytes limit
        (`call` starts the next one); the queue with `call` if that reaches the operations
        limit."""
        if call.size > self._max_bytes:
            return [[call]]
        ready = [self.take()] if self._queue and self._bytes + call.size > self._max_bytes else []
        self._queue.append(call)
        self._bytes += call.size
        if len(self._queue) >= self._max_operations:
            ready.append(self.take())
        return ready

    def take(self) -> list[Call]:
        """Empties the queue and returns what it held, oldest first: one batch."""
        batch = list(self._queue)
        self._queue.clear()
        self._bytes = 0
        return batch

    def discard(self, call: Call) -> None:
        """Takes `call` out of the queue if it is still there (its caller stopped waiting)."""
        if call in self._queue:
            self._queue.remove(call)
            self._bytes -= call.size


def outgoing(calls: list[Call]) -> tuple[str, Message, float]:
    """The rpc that sends the batch `calls`: its method, request and timeout in seconds. One call
    is sent as its own unary rpc with its own deadline; more as one Batch whose deadline is their
    latest, operation i being call i's request."""
    if len(calls) == 1:
        return calls[0].method, calls[0].request, calls[0].remaining()
    request = pb.BatchRequest()
    for call in calls:
        getattr(request.operations.add(), _FIELDS[call.method]).CopyFrom(call.request)
    return "Batch", request, max(call.deadline for call in calls) - time.monotonic()


def deliver(address: str, calls: list[Call], response: Any) -> None:
    """Ends each of `calls` with its outcome in `response` from `address`, the response of the
    rpc outgoing(calls) named: the response its unary call returns, or the same error (see
    sessiond.errors.from_result)."""
    if len(calls) == 1:
        calls[0].settle(response, None)
        return
    if len(response.results) != len(calls):
        for call in calls:
            call.settle(None, _malformed(f"{len(response.results)} results, {len(calls)} calls"))
        return
    for call, result in zip(calls, response.results, strict=True):
        case = _FIELDS[call.method]
        if result.code != 0:
            call.settle(None, from_result(address, result))
        elif result.WhichOneof("response") != case:
            call.settle(None, _malformed(f"a {result.WhichOneof('response')} result for {case}"))
        else:
            call.settle(getattr(result, case), None)


def fail(address: str, calls: list[Call], error: Exception) -> None:
    """Ends each of `calls` with the error of the rpc outgoing(calls) named, as its unary call
    raises it: a failed rpc's typed SessiondError (a Batch that failed as a whole fails every
    call in it), anything else (a closed channel's refusal) as it is."""
    for call in calls:
        if isinstance(error, grpc.RpcError):
            call.settle(None, from_call(address, cast(FailedCall, error)))
        else:
            call.settle(None, error)


def _malformed(what: str) -> SessiondError:
    return SessiondError(grpc.StatusCode.INTERNAL, f"malformed BatchResponse: {what}")
