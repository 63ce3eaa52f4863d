package dev.sessiond.client;

import dev.sessiond.v1.BatchRequest;
import dev.sessiond.v1.BatchResponse;
import dev.sessiond.v1.SessionServiceGrpc.SessionServiceFutureStub;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Automatic batching by group commit: the calls a client's threads make concurrently go to sessiond
 * as one Batch rpc. A call is sent at once when none of this client's rpcs is in flight; otherwise
 * it queues, and the queue is sent as one Batch as soon as an rpc in flight returns, or at once
 * when it reaches {@link ClientOptions#maxBatchOperations()} or a call would push it over {@link
 * ClientOptions#maxBatchBytes()} (that call starts the next queue). A queue of one call is sent as
 * that call's own rpc, and so is a call over the byte limit on its own. So an idle client adds no
 * latency and a busy one sends one Batch per round trip.
 *
 * <p>A Batch's deadline is the latest of its calls'; each caller waits only until its own (then
 * DEADLINE_EXCEEDED). Each caller gets exactly what its call would have given alone: its response,
 * or the same typed error. If the Batch itself fails, every call in it fails with that error.
 * Thread-safe; no caller thread is held to send others' calls.
 */
final class Batcher {
  private final SessionServiceFutureStub stub;
  private final String address;
  private final int maxOperations;
  private final int maxBytes;
  private final Object lock = new Object();
  // Guarded by lock: the calls waiting, their bytes, and how many rpcs are in flight.
  private List<BatchCall<?, ?>> queue = new ArrayList<>();
  private int queuedBytes;
  private int inFlight;

  /** Batches calls sent with {@code stub} to sessiond at {@code address}, within the limits. */
  Batcher(SessionServiceFutureStub stub, String address, ClientOptions options) {
    this.stub = stub;
    this.address = address;
    this.maxOperations = options.maxBatchOperations();
    this.maxBytes = options.maxBatchBytes();
  }

  /**
   * Sends {@code request} with {@code rpc}, alone or in a Batch; the caller waits to {@code
   * deadline}.
   */
  <Q, R> CompletableFuture<R> submit(Rpc<Q, R> rpc, Q request, Deadline deadline) {
    BatchCall<Q, R> call = new BatchCall<>(rpc, request, deadline, address);
    if (call.bytes() > maxBytes) {
      return rpc.sendAlone(stub, request, deadline, address);
    }
    List<BatchCall<?, ?>> ready;
    synchronized (lock) {
      ready = enqueue(call);
    }
    if (ready != null) {
      send(ready);
    }
    return call.result();
  }

  /** Queues {@code call}, or returns the calls to send now (holding the lock). */
  private List<BatchCall<?, ?>> enqueue(BatchCall<?, ?> call) {
    if (inFlight == 0) {
      inFlight = 1;
      return List.of(call);
    }
    call.limitWait();
    List<BatchCall<?, ?>> ready = null;
    if (queuedBytes + call.bytes() > maxBytes) {
      ready = takeQueue();
      inFlight++;
    }
    queue.add(call);
    queuedBytes += call.bytes();
    if (queue.size() >= maxOperations) {
      ready = takeQueue();
      inFlight++;
    }
    return ready;
  }

  /** The queue, emptied (holding the lock). */
  private List<BatchCall<?, ?>> takeQueue() {
    List<BatchCall<?, ?>> taken = queue;
    queue = new ArrayList<>();
    queuedBytes = 0;
    return taken;
  }

  /** An rpc in flight returned: sends the queue in its place, if there is one. */
  private void returned() {
    List<BatchCall<?, ?>> ready;
    synchronized (lock) {
      if (queue.isEmpty()) {
        inFlight--;
        return;
      }
      ready = takeQueue();
    }
    send(ready);
  }

  /**
   * Sends {@code calls} (counted in flight) but those nobody waits for: alone if one, else batched.
   */
  private void send(List<BatchCall<?, ?>> calls) {
    List<BatchCall<?, ?>> live = calls.stream().filter(call -> !call.abandoned()).toList();
    if (live.isEmpty()) {
      returned();
    } else if (live.size() == 1) {
      live.get(0).sendAlone(stub, this::returned);
    } else {
      sendBatch(live);
    }
  }

  /** Sends {@code calls} as one Batch under the latest of their deadlines. */
  private void sendBatch(List<BatchCall<?, ?>> calls) {
    BatchRequest.Builder request = BatchRequest.newBuilder();
    calls.forEach(call -> request.addOperations(call.operation()));
    Deadline latest = calls.stream().map(BatchCall::deadline).max(Comparator.naturalOrder()).get();
    Rpc.completion(stub.withDeadline(latest).batch(request.build()), address)
        .whenComplete(
            (response, failure) -> {
              returned();
              settle(calls, response, failure);
            });
  }

  /** Gives each call its result in {@code response}, or every call the Batch's failure. */
  private void settle(List<BatchCall<?, ?>> calls, BatchResponse response, Throwable failure) {
    if (failure == null && response.getResultsCount() != calls.size()) {
      failure =
          new SessiondException(
              Status.Code.INTERNAL,
              "sessiond at "
                  + address
                  + ": a Batch of "
                  + calls.size()
                  + " operations returned "
                  + response.getResultsCount()
                  + " results",
              null);
    }
    for (int i = 0; i < calls.size(); i++) {
      if (failure == null) {
        calls.get(i).settle(response.getResults(i));
      } else {
        calls.get(i).fail(Errors.from(failure, address));
      }
    }
  }
}
