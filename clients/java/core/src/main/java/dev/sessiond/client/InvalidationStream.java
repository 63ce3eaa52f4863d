package dev.sessiond.client;

import dev.sessiond.v1.InvalidationsResponse;
import dev.sessiond.v1.LeaseRequest;
import dev.sessiond.v1.SessionServiceGrpc;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The WatchInvalidations stream feeding a {@link NearCacheStore}: it applies every invalidation,
 * asks for a lease every quarter lease with a new ping, and extends the store's lease to the time
 * it sent a granted ping plus the lease. When the stream breaks (error, end, draining server) the
 * store is reset, and a new stream is opened after a backoff (50 ms doubling to 5 s, with jitter);
 * its first grant lets the cache serve again. Its failures never reach callers: without a lease
 * every read just goes to the server.
 *
 * <p>One daemon thread opens streams and sends pings; gRPC's threads deliver the responses. {@link
 * #close()} ends the stream and stops the thread.
 */
final class InvalidationStream implements AutoCloseable {
  /** The lease assumed before the server has granted one: the server's default. */
  private static final Duration FIRST_LEASE = Duration.ofMillis(100);

  private static final Duration FIRST_BACKOFF = Duration.ofMillis(50);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final SessionServiceGrpc.SessionServiceStub stub;
  private final NearCacheStore store;
  private final ScheduledThreadPoolExecutor timer;
  private volatile Attempt current;
  private volatile long backoffNanos = FIRST_BACKOFF.toNanos();
  private volatile boolean closed;

  /** Opens the stream over {@code channel} at once (on its own thread), feeding {@code store}. */
  InvalidationStream(Channel channel, NearCacheStore store) {
    this.stub = SessionServiceGrpc.newStub(channel);
    this.store = store;
    this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("sessiond-near-cache"));
    timer.setRemoveOnCancelPolicy(true);
    timer.execute(this::open);
  }

  /** Ends the stream and stops its thread; the store keeps no lease after this. */
  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    try {
      // An open() already running finishes first, so that the stream it opens is ended below.
      timer.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Attempt attempt = current;
    if (attempt != null) {
      attempt.context.cancel(null);
    }
    store.reset();
  }

  /** Opens a new stream (on the timer thread) unless closed. */
  private void open() {
    if (!closed) {
      current = new Attempt();
      current.start();
    }
  }

  /** One stream, from its opening to its end. */
  private final class Attempt implements StreamObserver<InvalidationsResponse> {
    final Context.CancellableContext context = Context.current().withCancellation();
    // When each ping not granted yet was sent (System.nanoTime), by ping.
    private final ConcurrentNavigableMap<Long, Long> sent = new ConcurrentSkipListMap<>();
    private volatile long leaseNanos = FIRST_LEASE.toNanos();
    private volatile boolean ended;
    private StreamObserver<LeaseRequest> requests; // used on the timer thread only
    private long lastPing; // timer thread only

    /** Starts the call and sends the first ping (timer thread). */
    void start() {
      Context previous = context.attach();
      try {
        requests = stub.watchInvalidations(this);
      } finally {
        context.detach(previous);
      }
      ping();
    }

    /** Sends the next ping and schedules the one after a quarter lease (timer thread). */
    private void ping() {
      if (ended || closed) {
        return;
      }
      lastPing++;
      sent.put(lastPing, System.nanoTime());
      requests.onNext(LeaseRequest.newBuilder().setPing(lastPing).build());
      timer.schedule(this::ping, leaseNanos / 4, TimeUnit.NANOSECONDS);
    }

    /** Applies the invalidations, then the grant if there is one. */
    @Override
    public void onNext(InvalidationsResponse response) {
      response
          .getInvalidationsList()
          .forEach(
              change ->
                  store.invalidate(change.getIdHash(), change.getVersion(), change.getGone()));
      long granted = response.getGrantedPing();
      if (granted == 0) {
        return;
      }
      long lease =
          Duration.ofSeconds(response.getLease().getSeconds(), response.getLease().getNanos())
              .toNanos();
      if (lease > 0) {
        leaseNanos = lease;
      }
      Long sentAt = sent.get(granted);
      sent.headMap(granted, true).clear();
      if (sentAt != null) {
        store.granted(sentAt + lease);
        backoffNanos = FIRST_BACKOFF.toNanos();
      }
    }

    @Override
    public void onError(Throwable failure) {
      ended();
    }

    @Override
    public void onCompleted() {
      ended();
    }

    /** Resets the store and, unless closed, opens the next stream after the backoff. */
    private void ended() {
      ended = true;
      store.reset();
      context.cancel(null);
      if (closed) {
        return;
      }
      long backoff = backoffNanos;
      backoffNanos = Math.min(backoff * 2, MAX_BACKOFF.toNanos());
      long delay = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
      try {
        timer.schedule(InvalidationStream.this::open, delay, TimeUnit.NANOSECONDS);
      } catch (RejectedExecutionException e) {
        // Closed meanwhile: nothing to reopen.
      }
    }
  }
}
