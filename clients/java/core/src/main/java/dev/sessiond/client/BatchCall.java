package dev.sessiond.client;

import com.google.protobuf.CodedOutputStream;
import dev.sessiond.v1.BatchOperation;
import dev.sessiond.v1.BatchRequest;
import dev.sessiond.v1.BatchResult;
import dev.sessiond.v1.SessionServiceGrpc.SessionServiceFutureStub;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One caller's call waiting in a {@link Batcher}: its request, its deadline, and the future the
 * caller holds, which completes with the call's own response or typed error, or with
 * DEADLINE_EXCEEDED when the caller's deadline passes first (the operation may still be applied, as
 * with a lost reply). Thread-safe: the future completes once, whoever comes first.
 */
final class BatchCall<Q, R> {
  /** The one daemon thread that ends the waits of queued calls whose deadline passed. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlineTimer();

  private final Rpc<Q, R> rpc;
  private final Q request;
  private final BatchOperation operation;
  private final Deadline deadline;
  private final String address;
  private final CompletableFuture<R> result = new CompletableFuture<>();

  /** The call of {@code rpc} with {@code request} to sessiond at {@code address}. */
  BatchCall(Rpc<Q, R> rpc, Q request, Deadline deadline, String address) {
    this.rpc = rpc;
    this.request = request;
    this.operation = rpc.operation(request);
    this.deadline = deadline;
    this.address = address;
  }

  /** What the call adds to a {@link BatchRequest}: its operation with its field's framing. */
  int bytes() {
    return CodedOutputStream.computeMessageSize(BatchRequest.OPERATIONS_FIELD_NUMBER, operation);
  }

  /** The call as an operation of a Batch. */
  BatchOperation operation() {
    return operation;
  }

  /** Until when the caller waits. */
  Deadline deadline() {
    return deadline;
  }

  /** The future the caller holds. */
  CompletableFuture<R> result() {
    return result;
  }

  /**
   * Whether nobody waits for the call any more: it ended before being sent (its caller's deadline
   * passed while it was queued, or the caller cancelled it).
   */
  boolean abandoned() {
    return result.isDone();
  }

  /**
   * Makes the caller stop waiting at its deadline, with DEADLINE_EXCEEDED, even if the rpc that
   * carries the call has a later one. Called for calls that wait in a queue.
   */
  void limitWait() {
    ScheduledFuture<?> timer =
        DEADLINES.schedule(
            () ->
                result.completeExceptionally(
                    Errors.from(
                        Status.DEADLINE_EXCEEDED
                            .withDescription(
                                "the call's deadline passed while it waited in a batch")
                            .asRuntimeException(),
                        address)),
            deadline.timeRemaining(TimeUnit.NANOSECONDS),
            TimeUnit.NANOSECONDS);
    result.whenComplete((response, failure) -> timer.cancel(false));
  }

  /** Sends the call as its own rpc; {@code returned} runs when it returns, before the caller. */
  void sendAlone(SessionServiceFutureStub stub, Runnable returned) {
    rpc.sendAlone(stub, request, deadline, address)
        .whenComplete(
            (response, failure) -> {
              returned.run();
              if (failure == null) {
                result.complete(response);
              } else {
                result.completeExceptionally(Errors.from(failure, address));
              }
            });
  }

  /** Completes the call with its result in a Batch. */
  void settle(BatchResult outcome) {
    try {
      result.complete(rpc.response(outcome, address));
    } catch (SessiondException error) {
      result.completeExceptionally(error);
    }
  }

  /** Fails the call with the error of the Batch that carried it. */
  void fail(SessiondException error) {
    result.completeExceptionally(error);
  }

  private static ScheduledThreadPoolExecutor deadlineTimer() {
    ScheduledThreadPoolExecutor timer =
        new ScheduledThreadPoolExecutor(1, DaemonThreads.named("sessiond-batch-deadlines"));
    timer.setRemoveOnCancelPolicy(true);
    return timer;
  }
}
