// Automatic batching: the operations a process starts in the same event-loop turn leave together
// as one Batch rpc at the end of that turn (setImmediate), like ioredis's auto-pipelining. A turn
// with one operation sends it as its own unary rpc, so an idle client works exactly as without
// batching. Every caller gets exactly the response or typed error its unary call would have given.
import { ServiceError, status } from "@grpc/grpc-js";
import { SessiondError, fromFailure, fromServiceError } from "./errors.js";
import { BatchRequest, BatchResult, SessionServiceClient } from "./gen/sessiond/v1/session.pb.js";
import { Operation, rpcNames, sendBatch, sendUnary } from "./rpc.js";

/** How big one Batch may get. */
export interface BatchLimits {
  /** At most this many operations per Batch; reaching it sends the Batch at once. */
  maxOperations: number;
  /** At most this many bytes of serialized operations per Batch; a larger operation goes alone. */
  maxBytes: number;
}

/** One caller waiting for its operation. */
interface Call {
  operation: Operation;
  deadline: Date;
  resolve: (response: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Queues operations and sends each turn's queue as Batch rpcs within `limits`. Not shared between
 * clients: one per Client (and so per channel).
 */
export class Batcher {
  private queue: Call[] = [];
  private queueBytes = 0;
  private flushScheduled = false;

  constructor(
    private readonly stub: SessionServiceClient,
    private readonly address: string,
    private readonly limits: BatchLimits,
  ) {}

  /**
   * Sends `operation` with the caller's `deadline`, batched with the other operations of this turn:
   * resolves to its response or rejects with the error its unary call would have given; rejects
   * with DeadlineExceededError once `deadline` passes even if the Batch is still running.
   */
  submit(operation: Operation, deadline: Date): Promise<unknown> {
    const bytes = BatchRequest.encode({ operations: [{ request: operation }] }).finish().length;
    if (bytes > this.limits.maxBytes) return sendUnary(this.stub, this.address, operation, deadline);
    return new Promise((resolve, reject) => {
      if (this.queueBytes + bytes > this.limits.maxBytes) this.flush();
      this.queue.push({ operation, deadline, resolve, reject });
      this.queueBytes += bytes;
      if (this.queue.length >= this.limits.maxOperations) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Sends what is queued now: nothing, one unary rpc, or one Batch. */
  flush(): void {
    const calls = this.queue;
    this.queue = [];
    this.queueBytes = 0;
    if (calls.length === 1) {
      const [only] = calls;
      void sendUnary(this.stub, this.address, only.operation, only.deadline).then(only.resolve, only.reject);
    } else if (calls.length > 1) {
      this.sendBatch(calls);
    }
  }

  /** Sends `calls` as one Batch whose deadline is the latest of theirs; each earlier one stops waiting at its own. */
  private sendBatch(calls: Call[]): void {
    const latest = Math.max(...calls.map((c) => c.deadline.getTime()));
    const timers = calls.map((c) =>
      c.deadline.getTime() < latest
        ? setTimeout(
            () => c.reject(this.failure(c, status.DEADLINE_EXCEEDED, "Deadline exceeded")),
            c.deadline.getTime() - Date.now(),
          )
        : undefined,
    );
    const request = { operations: calls.map((c) => ({ request: c.operation })) };
    void sendBatch(this.stub, request, new Date(latest))
      .then(
        (response) => calls.forEach((c, i) => this.settle(c, response.results[i])),
        (error: ServiceError | Error) =>
          calls.forEach((c) =>
            c.reject("code" in error ? fromServiceError(error, rpcNames[c.operation.$case], this.address) : error),
          ),
      )
      .finally(() => timers.forEach((timer) => clearTimeout(timer)));
  }

  /** Resolves or rejects `call` from its `result`: the response of its kind, or its unary error. */
  private settle(call: Call, result: BatchResult | undefined): void {
    if (result === undefined) {
      call.reject(this.failure(call, status.INTERNAL, "the Batch response has no result for this operation"));
    } else if (result.code !== (status.OK as number)) {
      const { code, message, conflict, notFound } = result;
      call.reject(fromFailure({ code, message, conflict, notFound }, rpcNames[call.operation.$case], this.address));
    } else if (result.response?.$case !== call.operation.$case) {
      call.reject(this.failure(call, status.INTERNAL, `the Batch result is not a ${call.operation.$case} response`));
    } else {
      call.resolve(result.response.value);
    }
  }

  private failure(call: Call, code: status, message: string): SessiondError {
    return fromFailure({ code, message }, rpcNames[call.operation.$case], this.address);
  }
}
