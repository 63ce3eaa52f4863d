package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.testing.SessiondServer;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.DeleteRequest;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.RevokeSessionsRequest;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The near cache against a real sessiond (its default 100 ms lease), counting its rpcs on /metrics:
 * a cached read costs no rpc, changes, deletes and revocations by another client are seen within a
 * lease, the idle timer is still renewed (by few Touches), and a stale cached read cannot overwrite
 * a newer write.
 */
@Timeout(60)
class NearCacheTest {
  /** The server's lease plus a margin for scheduling on a loaded machine. */
  static final Duration LEASE_AND_MARGIN = Duration.ofMillis(150);

  private static SessiondServer server;
  private static Client caching;
  private static Client other;

  @BeforeAll
  static void start() throws Exception {
    server = SessiondServer.startWithMetrics();
    caching = Client.connect(server.address(), ClientOptions.defaults().withNearCache(1 << 20));
    other = Client.connect(server.address());
  }

  @AfterAll
  static void stop() throws Exception {
    caching.close();
    other.close();
    server.close();
  }

  /** A new session holding visits = {@code visits}, made by the other client. */
  private static String session(long visits) {
    return other
        .createSession(
            CreateSessionRequest.newBuilder().putEntries("visits", Values.int64(visits)).build())
        .getSession()
        .getId();
  }

  /** Gets {@code id} through {@code client}. */
  static GetResponse get(Client client, String id) {
    return client.get(GetRequest.newBuilder().setId(id).build());
  }

  /**
   * Reads {@code id} through {@code client} until a read is a cache hit (the stream's first lease
   * has to be granted before a read may fill the cache); fails after 10 s.
   */
  static GetResponse readUntilCached(Client client, String id) throws InterruptedException {
    Instant deadline = Instant.now().plusSeconds(10);
    while (Instant.now().isBefore(deadline)) {
      long hits = client.nearCacheStats().hits();
      GetResponse response = get(client, id);
      if (client.nearCacheStats().hits() > hits) {
        return response;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no read of the session was a cache hit within 10 s");
  }

  private static long visits(GetResponse response) {
    return response.getEntriesOrThrow("visits").getInt64Value();
  }

  private static long readRpcs() throws Exception {
    return server.rpcs("Get") + server.rpcs("Batch");
  }

  @Test
  void aSecondReadIsServedWithoutAnRpcWithTheSameEntriesAndVersion() throws Exception {
    String id = session(7);
    GetResponse first = readUntilCached(caching, id);
    long rpcs = readRpcs();
    long hits = caching.nearCacheStats().hits();

    GetResponse second = get(caching, id);

    assertEquals(rpcs, readRpcs());
    assertEquals(hits + 1, caching.nearCacheStats().hits());
    assertEquals(first.getEntriesMap(), second.getEntriesMap());
    assertEquals(first.getSession().getVersion(), second.getSession().getVersion());
    GetResponse subset =
        caching.get(GetRequest.newBuilder().setId(id).addKeys("visits").addKeys("absent").build());
    assertEquals(first.getEntriesMap(), subset.getEntriesMap());
  }

  @Test
  void aSessionReadByASessionObjectCommitsWithTheCachedVersion() throws Exception {
    String id = session(1);
    readUntilCached(caching, id);
    Session cached = Session.open(caching, id);
    assertEquals(1L, cached.getLong("visits"));
    Session.open(other, id).update(s -> setVisits(s, 2));

    cached.setLong("visits", 100);

    assertThrows(ConflictException.class, cached::commit);
    assertEquals(2L, visits(get(other, id)));
  }

  private static Void setVisits(Session session, long visits) {
    session.setLong("visits", visits);
    return null;
  }

  @Test
  void itsOwnWriteIsReadBackAtOnce() throws Exception {
    String id = session(1);
    readUntilCached(caching, id);

    Session.open(caching, id).update(s -> setVisits(s, 5));

    assertEquals(5L, visits(get(caching, id)));
  }

  @Test
  void aChangeByAnotherClientIsSeenWithinALease() throws Exception {
    String id = session(1);
    readUntilCached(caching, id);

    Session.open(other, id).update(s -> setVisits(s, 2));
    Instant changed = Instant.now();
    while (visits(get(caching, id)) != 2) {
      assertTrue(
          Duration.between(changed, Instant.now()).toMillis() < 1000,
          "the change was not seen within 1 s");
      Thread.sleep(5);
    }

    other.delete(DeleteRequest.newBuilder().setId(id).build());
    Thread.sleep(LEASE_AND_MARGIN.toMillis());
    assertThrows(SessionNotFoundException.class, () -> get(caching, id));
  }

  @Test
  void aSessionRevokedByAnotherClientIsNotServedOneLeaseLater() throws Exception {
    String id =
        other
            .createSession(CreateSessionRequest.newBuilder().setPrincipal("revoked-user").build())
            .getSession()
            .getId();
    readUntilCached(caching, id);

    other.revokeSessions(RevokeSessionsRequest.newBuilder().setPrincipal("revoked-user").build());
    Thread.sleep(LEASE_AND_MARGIN.toMillis());

    SessionNotFoundException gone =
        assertThrows(SessionNotFoundException.class, () -> get(caching, id));
    assertEquals(dev.sessiond.v1.NotFoundDetails.Reason.REVOKED, gone.reason());
  }

  @Test
  void cachedReadsStillRenewTheIdleTimerWithFewTouches() throws Exception {
    String id =
        other
            .createSession(
                CreateSessionRequest.newBuilder()
                    .putEntries("visits", Values.int64(1))
                    .setIdleTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(2))
                    .build())
            .getSession()
            .getId();
    readUntilCached(caching, id);
    long touches = server.rpcs("Touch") + server.rpcs("Batch");
    long hits = caching.nearCacheStats().hits();
    int reads = 0;
    Instant end = Instant.now().plusMillis(3500);
    while (Instant.now().isBefore(end)) {
      get(caching, id);
      reads++;
      Thread.sleep(20);
    }
    long touched = server.rpcs("Touch") + server.rpcs("Batch") - touches;

    assertEquals(1L, visits(get(other, id)), "the session expired though it was read");
    assertTrue(caching.nearCacheStats().hits() - hits > reads / 2, "most reads were hits");
    assertTrue(touched >= 1, "no Touch renewed the idle timer");
    assertTrue(touched <= reads / 4, touched + " Touches for " + reads + " reads");
  }

  @Test
  void aSessionLargerThanTheBoundIsNotCached() throws Exception {
    try (Client small =
        Client.connect(server.address(), ClientOptions.defaults().withNearCache(1024))) {
      String small1 = session(1);
      readUntilCached(small, small1);
      String large =
          other
              .createSession(
                  CreateSessionRequest.newBuilder()
                      .putEntries("blob", Values.string("x".repeat(2048)))
                      .build())
              .getSession()
              .getId();
      long misses = small.nearCacheStats().misses();

      get(small, large);
      get(small, large);

      assertEquals(misses + 2, small.nearCacheStats().misses());
      assertTrue(small.nearCacheStats().bytes() <= 1024);
    }
  }

  /** How many threads of near-cache streams are alive in this JVM. */
  private static long streamThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(thread -> thread.getName().equals("sessiond-near-cache") && thread.isAlive())
        .count();
  }

  @Test
  void closeStopsTheStreamsDaemonThread() throws Exception {
    long before = streamThreads();
    Client closing = Client.connect(server.address(), ClientOptions.defaults().withNearCache(1024));
    readUntilCached(closing, session(1));
    assertEquals(before + 1, streamThreads());
    assertTrue(
        Thread.getAllStackTraces().keySet().stream()
            .filter(thread -> thread.getName().equals("sessiond-near-cache"))
            .allMatch(Thread::isDaemon));

    closing.close();

    // The executor has terminated when close returns; its thread exits just after.
    Instant deadline = Instant.now().plusSeconds(2);
    while (streamThreads() > before && Instant.now().isBefore(deadline)) {
      Thread.sleep(10);
    }
    assertEquals(before, streamThreads());
  }

  @Test
  void withoutALeaseNothingIsServedFromTheCache() throws Exception {
    SessiondServer own = SessiondServer.start();
    try (Client lapsing =
            Client.connect(
                own.address(),
                ClientOptions.defaults()
                    .withNearCache(1 << 20)
                    .withTimeout(Duration.ofMillis(500))
                    .withRetries(1, Duration.ZERO));
        Client setup = Client.connect(own.address())) {
      String id =
          setup
              .createSession(
                  CreateSessionRequest.newBuilder().putEntries("visits", Values.int64(1)).build())
              .getSession()
              .getId();
      readUntilCached(lapsing, id);

      own.pause();
      try {
        Thread.sleep(LEASE_AND_MARGIN.toMillis());
        SessiondException stalled = assertThrows(SessiondException.class, () -> get(lapsing, id));
        assertEquals(Status.Code.DEADLINE_EXCEEDED, stalled.code());
      } finally {
        own.resume();
      }
      readUntilCached(lapsing, id);

      own.close();
      Thread.sleep(LEASE_AND_MARGIN.toMillis());
      SessiondException stopped = assertThrows(SessiondException.class, () -> get(lapsing, id));
      assertEquals(Status.Code.UNAVAILABLE, stopped.code());
    } finally {
      own.close();
    }
  }
}
