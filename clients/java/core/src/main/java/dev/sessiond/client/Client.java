package dev.sessiond.client;

import dev.sessiond.v1.CommitRequest;
import dev.sessiond.v1.CommitResponse;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.CreateSessionResponse;
import dev.sessiond.v1.DeleteRequest;
import dev.sessiond.v1.DeleteResponse;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.ListSessionsRequest;
import dev.sessiond.v1.ListSessionsResponse;
import dev.sessiond.v1.RevokeSessionsRequest;
import dev.sessiond.v1.RevokeSessionsResponse;
import dev.sessiond.v1.RotateIdRequest;
import dev.sessiond.v1.RotateIdResponse;
import dev.sessiond.v1.SessionServiceGrpc;
import dev.sessiond.v1.SessionServiceGrpc.SessionServiceFutureStub;
import dev.sessiond.v1.TouchRequest;
import dev.sessiond.v1.TouchResponse;
import dev.sessiond.v1.WatchSessionsRequest;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The thin typed client of {@code sessiond.v1.SessionService}: one blocking and one future-based
 * method per rpc the web tiers use, each sending the generated request as it is. The rpc contracts
 * (what each error means) are the comments of {@code proto/sessiond/v1/session.proto}; for the
 * ISession-style API that loads lazily and commits once, see {@link Session}.
 *
 * <p>Calls made concurrently are sent together as one Batch rpc unless {@link
 * ClientOptions#batching()} is off: a call goes at once when no rpc of this client is in flight,
 * otherwise with the others that came meanwhile as soon as one returns (group commit; see {@link
 * Batcher}). Each call's result and errors are exactly those of its own rpc.
 *
 * <p>With {@link ClientOptions#nearCacheMaxBytes()} set, the client keeps sessions it read in a
 * near cache (process memory, LRU within that many bytes) and answers Gets from it without an rpc
 * while its WatchInvalidations stream holds a lease: a change made by any client is not served
 * stale for longer than one lease (the server's --near_cache_lease, 100 ms by default) after it was
 * committed, and a session deleted or revoked is not served once the lease after the call returned
 * has passed. Commits carry the version read, so a stale read can never overwrite a newer write
 * (ABORTED). Its own writes drop the session from the cache first.
 *
 * <p>Every call gets a deadline of {@link ClientOptions#timeout()}. Failures are {@link
 * SessiondException}s: thrown by the blocking methods, completing the futures exceptionally
 * otherwise. A server that cannot be reached fails with {@link SessiondUnavailableException} naming
 * the address.
 *
 * <p>Thread-safe; share one per process. Closing it shuts down a channel it opened itself.
 */
public final class Client implements AutoCloseable {
  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final String address;
  private final SessionServiceFutureStub stub;
  private final ClientOptions options;
  private final Batcher batcher; // null: batching off
  private final NearCache nearCache; // null: no near cache

  private Client(ManagedChannel channel, boolean ownsChannel, ClientOptions options) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
    this.address = channel.authority();
    this.stub = SessionServiceGrpc.newFutureStub(channel);
    this.options = options;
    this.batcher = options.batching() ? new Batcher(stub, address, options) : null;
    this.nearCache =
        options.nearCacheMaxBytes() > 0
            ? new NearCache(
                channel,
                options.nearCacheMaxBytes(),
                request -> call(Rpc.GET, request),
                request -> call(Rpc.TOUCH, request))
            : null;
  }

  /** A client of sessiond at {@code target} ("host:port") over plaintext, with default options. */
  public static Client connect(String target) {
    return connect(target, ClientOptions.defaults());
  }

  /** A client of sessiond at {@code target} ("host:port") over plaintext; it owns the channel. */
  public static Client connect(String target, ClientOptions options) {
    return new Client(
        ManagedChannelBuilder.forTarget(target).usePlaintext().build(), true, options);
  }

  /**
   * A client over {@code channel}, which the caller built (with TLS or credentials as deployed) and
   * shuts down itself.
   */
  public static Client over(ManagedChannel channel, ClientOptions options) {
    return new Client(channel, false, options);
  }

  /** The options this client was made with. */
  public ClientOptions options() {
    return options;
  }

  /** The address of sessiond, as errors name it. */
  public String address() {
    return address;
  }

  /** CreateSession. */
  public CompletableFuture<CreateSessionResponse> createSessionAsync(CreateSessionRequest request) {
    return call(Rpc.CREATE_SESSION, request);
  }

  /** Get; from the near cache when it holds the session under a lease. */
  public CompletableFuture<GetResponse> getAsync(GetRequest request) {
    return nearCache == null ? call(Rpc.GET, request) : nearCache.get(request);
  }

  /** Touch. */
  public CompletableFuture<TouchResponse> touchAsync(TouchRequest request) {
    return call(Rpc.TOUCH, request);
  }

  /** Delete. */
  public CompletableFuture<DeleteResponse> deleteAsync(DeleteRequest request) {
    return write(request.getId(), Rpc.DELETE, request);
  }

  /** Commit. */
  public CompletableFuture<CommitResponse> commitAsync(CommitRequest request) {
    return write(request.getId(), Rpc.COMMIT, request);
  }

  /** RotateId. */
  public CompletableFuture<RotateIdResponse> rotateIdAsync(RotateIdRequest request) {
    return write(request.getId(), Rpc.ROTATE_ID, request);
  }

  /** ListSessions: one page of a principal's live sessions, newest first. */
  public CompletableFuture<ListSessionsResponse> listSessionsAsync(ListSessionsRequest request) {
    return call(Rpc.LIST_SESSIONS, request);
  }

  /** RevokeSessions: ends every session of a principal but the ones kept. */
  public CompletableFuture<RevokeSessionsResponse> revokeSessionsAsync(
      RevokeSessionsRequest request) {
    return call(Rpc.REVOKE_SESSIONS, request);
  }

  /** CreateSession, blocking. */
  public CreateSessionResponse createSession(CreateSessionRequest request) {
    return await(createSessionAsync(request), address);
  }

  /** Get, blocking. */
  public GetResponse get(GetRequest request) {
    return await(getAsync(request), address);
  }

  /** Touch, blocking. */
  public TouchResponse touch(TouchRequest request) {
    return await(touchAsync(request), address);
  }

  /** Delete, blocking. */
  public DeleteResponse delete(DeleteRequest request) {
    return await(deleteAsync(request), address);
  }

  /** Commit, blocking. */
  public CommitResponse commit(CommitRequest request) {
    return await(commitAsync(request), address);
  }

  /** RotateId, blocking. */
  public RotateIdResponse rotateId(RotateIdRequest request) {
    return await(rotateIdAsync(request), address);
  }

  /** ListSessions, blocking. */
  public ListSessionsResponse listSessions(ListSessionsRequest request) {
    return await(listSessionsAsync(request), address);
  }

  /** RevokeSessions, blocking. */
  public RevokeSessionsResponse revokeSessions(RevokeSessionsRequest request) {
    return await(revokeSessionsAsync(request), address);
  }

  /**
   * WatchSessions: the session events from the request's {@code from_sequence} on (unset: from
   * now), read one by one from the returned stream, which the caller closes. No deadline: the
   * stream lives until closed or until the server ends it.
   */
  public EventStream watchSessions(WatchSessionsRequest request) {
    return EventStream.start(channel, request, address);
  }

  /**
   * What the near cache did so far (hits, misses, what it holds); all zero without a near cache.
   */
  public NearCacheStats nearCacheStats() {
    return nearCache == null ? new NearCacheStats(0, 0, 0, 0) : nearCache.stats();
  }

  /**
   * Ends the near cache's stream and stops its thread, then shuts down the channel if this client
   * opened it, waiting up to 5 s for calls in flight.
   */
  @Override
  public void close() {
    if (nearCache != null) {
      nearCache.close();
    }
    if (!ownsChannel) {
      return;
    }
    channel.shutdown();
    try {
      if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
        channel.shutdownNow();
      }
    } catch (InterruptedException e) {
      channel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The result of {@code future}, or its failure as a {@link SessiondException} of a call to {@code
   * address}.
   */
  static <T> T await(CompletableFuture<T> future, String address) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      future.cancel(true);
      throw Errors.from(e, address);
    } catch (ExecutionException e) {
      throw Errors.from(e, address);
    }
  }

  /**
   * Sends {@code request}, a write of session {@code id}, with {@code rpc}; with a near cache,
   * drops the session from it before sending and again (spoiling the reads that were in flight
   * meanwhile) before the caller sees the result, so that the client reads its own writes.
   */
  private <Q, R> CompletableFuture<R> write(String id, Rpc<Q, R> rpc, Q request) {
    if (nearCache == null) {
      return call(rpc, request);
    }
    nearCache.writing(id);
    CompletableFuture<R> result = new CompletableFuture<>();
    call(rpc, request)
        .whenComplete(
            (response, failure) -> {
              nearCache.writing(id);
              if (failure == null) {
                result.complete(response);
              } else {
                result.completeExceptionally(failure);
              }
            });
    return result;
  }

  /**
   * Sends {@code request} with {@code rpc} under the default deadline: through the batcher when
   * batching is on, else as its own rpc.
   */
  private <Q, R> CompletableFuture<R> call(Rpc<Q, R> rpc, Q request) {
    Deadline deadline = Deadline.after(options.timeout().toNanos(), TimeUnit.NANOSECONDS);
    return batcher == null
        ? rpc.sendAlone(stub, request, deadline, address)
        : batcher.submit(rpc, request, deadline);
  }
}
