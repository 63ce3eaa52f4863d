"""How the asyncio client sends its unary calls: those made in one event-loop turn together (see
sessiond._batch)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import grpc.aio
from google.protobuf.message import Message

from sessiond._batch import (
    Call,
    Coalescer,
    Settle,
    deadline_exceeded,
    deliver,
    fail,
    new_call,
    outgoing,
)
from sessiond._core import ClientOptions
from sessiond.errors import from_call


class TurnBatching:
    """Sends the unary calls of one asyncio client on `stub`. With options.batching the calls made
    in one turn of the event loop are queued and sent together at its end (scheduled with
    loop.call_soon, like auto-pipelining), at once when the queue is full (ClientOptions' limits);
    without, each call is its own rpc. For the one event loop the client belongs to."""

    def __init__(self, stub: Any, options: ClientOptions) -> None:
        """Sends on `stub` (a grpc.aio SessionServiceStub) as `options` say."""
        self._stub = stub
        self._options = options
        self._queue = Coalescer(options.max_batch_operations, options.max_batch_bytes)
        self._flush_scheduled = False
        # The rpcs in flight, held so that the loop does not collect them before they end.
        self._sending: set[asyncio.Task[None]] = set()

    async def call(self, method: str, request: Message, timeout: float) -> Any:
        """Calls `method` with `request`, waiting at most `timeout` seconds, and returns its
        response; raises the typed SessiondError its unary call raises (DeadlineExceededError
        when `timeout` passes first, even if the batch carrying it is still in flight)."""
        if not self._options.batching:
            try:
                return await getattr(self._stub, method)(request, timeout=timeout)
            except grpc.aio.AioRpcError as rpc_error:
                raise from_call(self._options.address, rpc_error) from rpc_error
        outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        call = new_call(method, request, timeout, partial(_settle, outcome))
        self._enqueue(call)
        try:
            return await asyncio.wait_for(outcome, max(timeout, 0.0))
        except TimeoutError:
            raise deadline_exceeded() from None
        finally:  # a caller that stopped waiting (deadline, cancelled) is not sent
            self._queue.discard(call)

    def start(self, method: str, request: Message, timeout: float, settle: Settle) -> None:
        """Sends `method` with `request` (batched as call() does) without waiting: `settle` gets
        its response or error later, on the loop. For calls nobody waits for."""
        call = new_call(method, request, timeout, settle)
        if self._options.batching:
            self._enqueue(call)
        else:
            self._start([call])

    def _enqueue(self, call: Call) -> None:
        """Queues `call`: sends what is full at once, the rest at the end of this turn."""
        for batch in self._queue.add(call):
            self._start(batch)
        if self._queue and not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """The end of the turn the first queued call was made in: sends the queue."""
        self._flush_scheduled = False
        if self._queue:
            self._start(self._queue.take())

    def _start(self, calls: list[Call]) -> None:
        """Starts sending the batch `calls` in a task of its own."""
        task = asyncio.get_running_loop().create_task(self._send(calls))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[Call]) -> None:
        """Sends the batch `calls` and ends each call with its outcome."""
        method, request, timeout = outgoing(calls)
        try:
            response = await getattr(self._stub, method)(request, timeout=timeout)
        except Exception as error:
            fail(self._options.address, calls, error)
        else:
            deliver(self._options.address, calls, response)


def _settle(outcome: asyncio.Future[Any], response: Any, error: Exception | None) -> None:
    """Ends the call awaiting `outcome` (unless its caller stopped waiting) with `response`, or
    with the error it raises."""
    if outcome.done():
        return
    if error is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(response)
