// Client: one channel to sessiond, one promise-returning method per rpc, a deadline on every call,
// calls batched automatically (batcher.ts), failures converted to the typed errors of errors.ts, and
// Gets served from an opt-in near cache (near-cache/).
import { ChannelCredentials, ChannelOptions, Metadata, ServiceError, credentials } from "@grpc/grpc-js";
import { Batcher } from "./batcher.js";
import { fromServiceError } from "./errors.js";
import {
  ClearRequest,
  ClearResponse,
  CommitRequest,
  CommitResponse,
  CreateSessionRequest,
  CreateSessionResponse,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  ListSessionsRequest,
  ListSessionsResponse,
  RemoveRequest,
  RemoveResponse,
  RevokeSessionsRequest,
  RevokeSessionsResponse,
  RotateIdRequest,
  RotateIdResponse,
  SessionEvent,
  SessionServiceClient,
  SetRequest,
  SetResponse,
  TouchRequest,
  TouchResponse,
  WatchSessionsRequest,
  WatchSessionsResponse,
} from "./gen/sessiond/v1/session.pb.js";
import { NearCache, NearCacheOptions, NearCacheStats } from "./near-cache/near-cache.js";
import { Operation, OperationKind, RequestOf, ResponseOf, sendUnary } from "./rpc.js";

/** How a Client connects and how long its calls may take. */
export interface ClientOptions {
  /** The default deadline of each call, from when it starts. Default 2000 ms. */
  timeoutMs?: number;
  /** How many times Session.commit sends a commit whose reply was lost, in all. Default 3. */
  commitAttempts?: number;
  /** The pause before the first resend of a commit; it doubles each time. Default 50 ms. */
  retryBackoffMs?: number;
  /** The channel's credentials. Default: insecure (plain TCP, for a trusted network). */
  credentials?: ChannelCredentials;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /**
   * Automatic batching: the calls started in the same event-loop turn are sent as one Batch rpc
   * (a lone call as its own rpc); results and errors are the same as without. Default true; false
   * sends every call as its own rpc.
   */
  batching?: boolean;
  /** At most this many calls per Batch (the server accepts 256 by default). Default 128. */
  maxBatchOperations?: number;
  /** At most this many bytes of serialized requests per Batch; a larger call goes alone. Default 512 KiB. */
  maxBatchBytes?: number;
  /**
   * The near cache: Gets answered from process memory, kept exact by a WatchInvalidations stream
   * (README, "Near cache"). Default off; `{ maxBytes }` above 0 turns it on.
   */
  nearCache?: NearCacheOptions;
}

/** Options of one call. */
export interface CallOptions {
  /** This call's deadline; default: now + ClientOptions.timeoutMs. */
  deadline?: Date;
}

/**
 * A connection to one sessiond server. Create one per process and reuse it: it is safe to share
 * between concurrent requests. Every method is one rpc (see proto/sessiond/v1/session.proto for
 * each one's contract), sent inside a Batch with the other calls of its event-loop turn unless
 * ClientOptions.batching is false, and rejects with a SessiondError subclass: NotFoundError,
 * ConflictError, UnavailableError (naming the address; also when the server cannot be reached at all),
 * DeadlineExceededError, InvalidArgumentError, AlreadyExistsError, or SessiondError for others.
 */
export class Client {
  readonly timeoutMs: number;
  readonly commitAttempts: number;
  readonly retryBackoffMs: number;
  private readonly stub: SessionServiceClient;
  private readonly batcher?: Batcher;
  private cache?: NearCache;

  /** A client of the server at `address` ("host:port"); connects on the first call. */
  constructor(
    readonly address: string,
    options: ClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.commitAttempts = options.commitAttempts ?? 3;
    this.retryBackoffMs = options.retryBackoffMs ?? 50;
    this.stub = new SessionServiceClient(
      address,
      options.credentials ?? credentials.createInsecure(),
      options.channelOptions,
    );
    if (options.batching ?? true) {
      this.batcher = new Batcher(this.stub, address, {
        maxOperations: positive("maxBatchOperations", options.maxBatchOperations ?? 128),
        maxBytes: positive("maxBatchBytes", options.maxBatchBytes ?? 512 * 1024),
      });
    }
    if (options.nearCache) this.useNearCache(options.nearCache);
  }

  /**
   * Turns the near cache on with `options` unless it is on already (then it keeps its own);
   * maxBytes 0 leaves it off. RangeError if maxBytes is not a non-negative integer.
   */
  useNearCache(options: NearCacheOptions): void {
    const { maxBytes } = options;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`ClientOptions.nearCache.maxBytes must be a non-negative integer, got ${maxBytes}`);
    }
    if (this.cache || maxBytes === 0) return;
    this.cache = new NearCache(options, this.stub, {
      get: (request, call) => this.send("get", request, call),
      touch: (request) => this.send("touch", TouchRequest.fromPartial(request)),
    });
  }

  /** The near cache's counters and size; undefined while it is off. */
  nearCacheStats(): NearCacheStats | undefined {
    return this.cache?.stats();
  }

  createSession(request: Partial<CreateSessionRequest>, call?: CallOptions): Promise<CreateSessionResponse> {
    return this.send("createSession", CreateSessionRequest.fromPartial(request), call);
  }

  /** From the near cache when it is on and holds the session under a current lease; else one rpc. */
  get(request: Partial<GetRequest>, call?: CallOptions): Promise<GetResponse> {
    const message = GetRequest.fromPartial(request);
    return this.cache ? this.cache.get(message, call) : this.send("get", message, call);
  }

  set(request: Partial<SetRequest>, call?: CallOptions): Promise<SetResponse> {
    return this.write("set", SetRequest.fromPartial(request), call);
  }

  remove(request: Partial<RemoveRequest>, call?: CallOptions): Promise<RemoveResponse> {
    return this.write("remove", RemoveRequest.fromPartial(request), call);
  }

  clear(request: Partial<ClearRequest>, call?: CallOptions): Promise<ClearResponse> {
    return this.write("clear", ClearRequest.fromPartial(request), call);
  }

  touch(request: Partial<TouchRequest>, call?: CallOptions): Promise<TouchResponse> {
    return this.send("touch", TouchRequest.fromPartial(request), call);
  }

  delete(request: Partial<DeleteRequest>, call?: CallOptions): Promise<DeleteResponse> {
    return this.write("delete", DeleteRequest.fromPartial(request), call);
  }

  commit(request: Partial<CommitRequest>, call?: CallOptions): Promise<CommitResponse> {
    return this.write("commit", CommitRequest.fromPartial(request), call);
  }

  rotateId(request: Partial<RotateIdRequest>, call?: CallOptions): Promise<RotateIdResponse> {
    return this.write("rotateId", RotateIdRequest.fromPartial(request), call);
  }

  /** A principal's live sessions (labels and last access, never entries), newest first, one page. */
  listSessions(request: Partial<ListSessionsRequest>, call?: CallOptions): Promise<ListSessionsResponse> {
    return this.send("listSessions", ListSessionsRequest.fromPartial(request), call);
  }

  /** Ends every session of a principal but `exceptIds` ("log out everywhere else"); how many ended. */
  revokeSessions(request: Partial<RevokeSessionsRequest>, call?: CallOptions): Promise<RevokeSessionsResponse> {
    return this.send("revokeSessions", RevokeSessionsRequest.fromPartial(request), call);
  }

  /**
   * The session events from `fromSequence` on (absent: from now), one by one, for as long as the
   * caller iterates (`for await`); leaving the loop ends the stream. No deadline unless `call` sets
   * one. Throws OutOfRangeError when the sequence is outside the server's log (resynchronise),
   * SessiondError RESOURCE_EXHAUSTED when this watcher fell behind, UnavailableError when the
   * server drains: resume from the last `sequence` seen + 1.
   */
  async *watchSessions(request: Partial<WatchSessionsRequest>, call?: CallOptions): AsyncGenerator<SessionEvent> {
    const stream = this.stub.watchSessions(
      WatchSessionsRequest.fromPartial(request),
      new Metadata(),
      call?.deadline ? { deadline: call.deadline } : {},
    );
    try {
      for await (const message of stream as AsyncIterable<WatchSessionsResponse>) {
        yield* message.events;
      }
    } catch (error) {
      throw fromServiceError(error as ServiceError, "WatchSessions", this.address);
    } finally {
      stream.cancel();
    }
  }

  /** Sends the calls already made, ends the near cache's stream, then closes the channel; calls after this fail. */
  close(): void {
    this.cache?.close();
    this.batcher?.flush();
    this.stub.close();
  }

  /** Sends a write to one session, first dropping that session from the near cache. */
  private write<K extends "set" | "remove" | "clear" | "delete" | "commit" | "rotateId">(
    kind: K,
    request: RequestOf<K>,
    call?: CallOptions,
  ): Promise<ResponseOf<K>> {
    this.cache?.forget(request.id);
    return this.send(kind, request, call);
  }

  private send<K extends OperationKind>(kind: K, request: RequestOf<K>, call?: CallOptions): Promise<ResponseOf<K>> {
    const deadline = call?.deadline ?? new Date(Date.now() + this.timeoutMs);
    const operation = { $case: kind, value: request } as Operation;
    const sent = this.batcher
      ? this.batcher.submit(operation, deadline)
      : sendUnary(this.stub, this.address, operation, deadline);
    return sent as Promise<ResponseOf<K>>;
  }
}

/** `value` if it is a positive integer; else a RangeError naming the option. */
function positive(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`ClientOptions.${option} must be a positive integer, got ${value}`);
  }
  return value;
}
