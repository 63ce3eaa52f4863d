// Client: one channel to sessiond, one promise-returning method per rpc, a deadline on every call,
// and failures converted to the typed errors of errors.ts.
import { ChannelCredentials, ChannelOptions, Metadata, ServiceError, credentials } from "@grpc/grpc-js";
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
}

/** Options of one call. */
export interface CallOptions {
  /** This call's deadline; default: now + ClientOptions.timeoutMs. */
  deadline?: Date;
}

type Callback<Res> = (error: ServiceError | null, response: Res) => void;
type Method<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: { deadline: Date },
  callback: Callback<Res>,
) => unknown;

/**
 * A connection to one sessiond server. Create one per process and reuse it: it is safe to share
 * between concurrent requests. Every method sends one rpc (see proto/sessiond/v1/session.proto for
 * each one's contract) and rejects with a SessiondError subclass: NotFoundError, ConflictError,
 * UnavailableError (naming the address; also when the server cannot be reached at all),
 * DeadlineExceededError, InvalidArgumentError, AlreadyExistsError, or SessiondError for others.
 */
export class Client {
  readonly timeoutMs: number;
  readonly commitAttempts: number;
  readonly retryBackoffMs: number;
  private readonly stub: SessionServiceClient;

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
  }

  createSession(request: Partial<CreateSessionRequest>, call?: CallOptions): Promise<CreateSessionResponse> {
    return this.unary(
      "CreateSession",
      this.stub.createSession.bind(this.stub),
      CreateSessionRequest.fromPartial(request),
      call,
    );
  }

  get(request: Partial<GetRequest>, call?: CallOptions): Promise<GetResponse> {
    return this.unary("Get", this.stub.get.bind(this.stub), GetRequest.fromPartial(request), call);
  }

  set(request: Partial<SetRequest>, call?: CallOptions): Promise<SetResponse> {
    return this.unary("Set", this.stub.set.bind(this.stub), SetRequest.fromPartial(request), call);
  }

  remove(request: Partial<RemoveRequest>, call?: CallOptions): Promise<RemoveResponse> {
    return this.unary("Remove", this.stub.remove.bind(this.stub), RemoveRequest.fromPartial(request), call);
  }

  clear(request: Partial<ClearRequest>, call?: CallOptions): Promise<ClearResponse> {
    return this.unary("Clear", this.stub.clear.bind(this.stub), ClearRequest.fromPartial(request), call);
  }

  touch(request: Partial<TouchRequest>, call?: CallOptions): Promise<TouchResponse> {
    return this.unary("Touch", this.stub.touch.bind(this.stub), TouchRequest.fromPartial(request), call);
  }

  delete(request: Partial<DeleteRequest>, call?: CallOptions): Promise<DeleteResponse> {
    return this.unary("Delete", this.stub.delete.bind(this.stub), DeleteRequest.fromPartial(request), call);
  }

  commit(request: Partial<CommitRequest>, call?: CallOptions): Promise<CommitResponse> {
    return this.unary("Commit", this.stub.commit.bind(this.stub), CommitRequest.fromPartial(request), call);
  }

  rotateId(request: Partial<RotateIdRequest>, call?: CallOptions): Promise<RotateIdResponse> {
    return this.unary("RotateId", this.stub.rotateId.bind(this.stub), RotateIdRequest.fromPartial(request), call);
  }

  /** A principal's live sessions (labels and last access, never entries), newest first, one page. */
  listSessions(request: Partial<ListSessionsRequest>, call?: CallOptions): Promise<ListSessionsResponse> {
    return this.unary(
      "ListSessions",
      this.stub.listSessions.bind(this.stub),
      ListSessionsRequest.fromPartial(request),
      call,
    );
  }

  /** Ends every session of a principal but `exceptIds` ("log out everywhere else"); how many ended. */
  revokeSessions(request: Partial<RevokeSessionsRequest>, call?: CallOptions): Promise<RevokeSessionsResponse> {
    return this.unary(
      "RevokeSessions",
      this.stub.revokeSessions.bind(this.stub),
      RevokeSessionsRequest.fromPartial(request),
      call,
    );
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

  /** Closes the channel; calls after this fail. */
  close(): void {
    this.stub.close();
  }

  private unary<Req, Res>(name: string, method: Method<Req, Res>, request: Req, call?: CallOptions): Promise<Res> {
    const deadline = call?.deadline ?? new Date(Date.now() + this.timeoutMs);
    return new Promise((resolve, reject) => {
      method(request, new Metadata(), { deadline }, (error, response) => {
        if (error) reject(fromServiceError(error, name, this.address));
        else resolve(response);
      });
    });
  }
}
