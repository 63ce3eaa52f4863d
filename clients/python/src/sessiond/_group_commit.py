"""How the blocking client sends its unary calls: batched by group commit (see sessiond._batch)."""

from __future__ import annotations

import threading
from typing import Any, cast

import grpc
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


class GroupCommit:
    """Sends the unary calls of one blocking client, made from any number of threads, on `stub`.
    With options.batching a call is sent at once if no batch is in flight; otherwise it queues,
    and the queue is sent as one batch as soon as a batch in flight returns, or at once when it
    is full (ClientOptions' limits). So an idle client adds no latency and a busy one sends about
    one batch per round trip. Without, each call is its own rpc. Thread-safe."""

    def __init__(self, stub: Any, options: ClientOptions) -> None:
        """Sends on `stub` (a SessionServiceStub) as `options` say."""
        self._stub = stub
        self._options = options
        self._lock = threading.Lock()
        self._queue = Coalescer(options.max_batch_operations, options.max_batch_bytes)
        # How many batches were sent and have not returned; guarded by _lock, as _queue is.
        self._in_flight = 0

    def call(self, method: str, request: Message, timeout: float) -> Any:
        """Calls `method` with `request`, waiting at most `timeout` seconds, and returns its
        response; raises the typed SessiondError its unary call raises (DeadlineExceededError
        when `timeout` passes first, even if the batch carrying it is still in flight)."""
        if not self._options.batching:
            try:
                return getattr(self._stub, method)(request, timeout=timeout)
            except grpc.RpcError as rpc_error:
                raise from_call(self._options.address, cast(grpc.Call, rpc_error)) from rpc_error
        outcome = _Outcome()
        call = new_call(method, request, timeout, outcome.settle)
        self._enqueue(call)
        if not outcome.done.wait(max(timeout, 0.0)):
            with self._lock:
                self._queue.discard(call)
            if not outcome.done.is_set():
                raise deadline_exceeded()
        return outcome.get()

    def start(self, method: str, request: Message, timeout: float, settle: Settle) -> None:
        """Sends `method` with `request` (batched as call() does) without waiting: `settle` gets
        its response or error later, on a thread of gRPC's. For calls nobody waits for."""
        call = new_call(method, request, timeout, settle)
        if not self._options.batching:
            try:
                future = getattr(self._stub, method).future(request, timeout=timeout)
            except Exception as refused:  # a closed channel
                fail(self._options.address, [call], refused)
                return
            future.add_done_callback(lambda done: _ended(self._options.address, [call], done))
            return
        self._enqueue(call)

    def _enqueue(self, call: Call) -> None:
        """Queues `call`, and sends what is ready: the queue if no batch is in flight."""
        with self._lock:
            ready = self._queue.add(call)
            if self._in_flight == 0 and self._queue:
                ready.append(self._queue.take())
            self._in_flight += len(ready)
        for batch in ready:
            self._send(batch)

    def _send(self, calls: list[Call]) -> None:
        """Starts the rpc of the batch `calls` (counted in _in_flight); _returned ends it."""
        method, request, timeout = outgoing(calls)
        try:
            future = getattr(self._stub, method).future(request, timeout=timeout)
        except Exception as refused:  # a closed channel
            self._next()
            fail(self._options.address, calls, refused)
            return
        future.add_done_callback(lambda done: self._returned(calls, done))

    def _returned(self, calls: list[Call], future: grpc.Future[Any]) -> None:
        """The rpc of the batch `calls` ended as `future`: sends the queue, then ends each call."""
        self._next()
        _ended(self._options.address, calls, future)

    def _next(self) -> None:
        """A batch in flight returned: sends what queued meanwhile as the next batch."""
        with self._lock:
            self._in_flight -= 1
            batch = self._queue.take() if self._queue else []
            self._in_flight += bool(batch)
        if batch:
            self._send(batch)


def _ended(address: str, calls: list[Call], future: grpc.Future[Any]) -> None:
    """The rpc of the batch `calls` to `address` ended as `future`: ends each call."""
    try:
        response = future.result()
    except Exception as error:
        fail(address, calls, error)
    else:
        deliver(address, calls, response)


class _Outcome:
    """Where the thread that ends a call leaves its outcome for the caller's thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self._response: Any = None
        self._error: Exception | None = None

    def settle(self, response: Any, error: Exception | None) -> None:
        """Ends the call with `response`, or with the error its caller raises."""
        self._response, self._error = response, error
        self.done.set()

    def get(self) -> Any:
        """The response, once done; raises the error instead if there is one."""
        if self._error is not None:
            raise self._error
        return self._response
