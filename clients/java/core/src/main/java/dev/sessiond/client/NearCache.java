package dev.sessiond.client;

import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.TouchRequest;
import dev.sessiond.v1.TouchResponse;
import io.grpc.Channel;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A client's near cache ({@link ClientOptions#nearCacheMaxBytes()}): answers Gets from a {@link
 * NearCacheStore} kept exact by an {@link InvalidationStream}, fills it from the server's answers
 * to Gets of every entry, renews the idle timers of sessions it serves with coalesced Touches, and
 * drops a session before the client writes it. Thread-safe.
 */
final class NearCache implements AutoCloseable {
  private final NearCacheStore store;
  private final InvalidationStream stream;
  private final Function<GetRequest, CompletableFuture<GetResponse>> getRpc;
  private final Function<TouchRequest, CompletableFuture<TouchResponse>> touchRpc;

  /**
   * A cache of at most {@code maxBytes} fed by a stream over {@code channel}; misses go to the
   * server with {@code getRpc}, renewals with {@code touchRpc} (the client's batched calls).
   */
  NearCache(
      Channel channel,
      long maxBytes,
      Function<GetRequest, CompletableFuture<GetResponse>> getRpc,
      Function<TouchRequest, CompletableFuture<TouchResponse>> touchRpc) {
    this.store = new NearCacheStore(maxBytes);
    this.stream = new InvalidationStream(channel, store);
    this.getRpc = getRpc;
    this.touchRpc = touchRpc;
  }

  /**
   * Get: from the cache when it may serve the session (only the keys asked for; a Touch sent behind
   * it when the idle timer is due for renewal and no_renew is not set), else from the server, whose
   * answer to a Get of every entry fills the cache.
   */
  CompletableFuture<GetResponse> get(GetRequest request) {
    String id = request.getId();
    long hash = NearCacheStore.idHash(id);
    GetResponse cached = store.lookup(id, hash);
    if (cached != null) {
      if (!request.getNoRenew() && store.claimTouch(id, hash)) {
        renew(id, hash);
      }
      return CompletableFuture.completedFuture(
          request.getKeysCount() == 0 ? cached : only(cached, request));
    }
    NearCacheStore.Fill fill = request.getKeysCount() == 0 ? store.beginFill(hash) : null;
    CompletableFuture<GetResponse> answer = getRpc.apply(request);
    if (fill != null) {
      answer.whenComplete((response, failure) -> store.endFill(fill, id, response));
    }
    return answer;
  }

  /** Drops session {@code id} before the client sends a write of it. */
  void writing(String id) {
    store.drop(NearCacheStore.idHash(id));
  }

  /** What the cache did so far. */
  NearCacheStats stats() {
    return store.stats();
  }

  /** Ends the stream and stops its thread. */
  @Override
  public void close() {
    stream.close();
  }

  /** Renews the idle timer of cached session {@code id}, fire and forget. */
  private void renew(String id, long hash) {
    touchRpc
        .apply(TouchRequest.newBuilder().setId(id).build())
        .whenComplete(
            (response, failure) -> {
              if (Errors.unwrap(failure) instanceof SessionNotFoundException) {
                store.drop(hash);
              }
              store.touched(id, hash, response == null ? null : response.getSession());
            });
  }

  /** {@code session} with only the entries {@code request} asks for. */
  private static GetResponse only(GetResponse session, GetRequest request) {
    GetResponse.Builder subset = GetResponse.newBuilder().setSession(session.getSession());
    for (String key : request.getKeysList()) {
      if (session.containsEntries(key)) {
        subset.putEntries(key, session.getEntriesOrThrow(key));
      }
    }
    return subset.build();
  }
}
