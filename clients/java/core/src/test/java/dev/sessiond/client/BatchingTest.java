package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.testing.SessiondServer;
import dev.sessiond.v1.CommitRequest;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.DeleteRequest;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.NotFoundDetails;
import dev.sessiond.v1.Operation;
import dev.sessiond.v1.Value;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Automatic batching against a real sessiond, counting its Batch rpcs on /metrics: concurrent calls
 * share Batches and each gets its own result, errors are those of the single calls, and a caller
 * waits only until its own deadline.
 */
@Timeout(60)
class BatchingTest {
  private static SessiondServer server;
  private static Client batched;
  private static Client unbatched;

  @BeforeAll
  static void start() throws Exception {
    server = SessiondServer.startWithMetrics();
    batched = Client.connect(server.address());
    unbatched = Client.connect(server.address(), ClientOptions.defaults().withBatching(false));
  }

  @AfterAll
  static void stop() throws Exception {
    batched.close();
    unbatched.close();
    server.close();
  }

  /** {@code count} new sessions holding n = their index, made one by one. */
  private static List<String> sessions(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      ids.add(
          unbatched
              .createSession(
                  CreateSessionRequest.newBuilder().putEntries("n", Values.int64(i)).build())
              .getSession()
              .getId());
    }
    return ids;
  }

  /**
   * From 32 threads started together, loads each session through {@code client}, checks n is its
   * index and commits n + 1000; then checks every commit stored.
   */
  private static void loadAndCommitConcurrently(Client client, List<String> ids) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Long>> loaded = new ArrayList<>();
      for (String id : ids) {
        loaded.add(
            pool.submit(
                () -> {
                  go.await();
                  Session session = Session.open(client, id);
                  long n = session.getLong("n");
                  session.setLong("n", n + 1000);
                  session.commit();
                  return n;
                }));
      }
      go.countDown();
      for (int i = 0; i < ids.size(); i++) {
        assertEquals(i, loaded.get(i).get());
      }
    } finally {
      pool.shutdown();
    }
    for (int i = 0; i < ids.size(); i++) {
      assertEquals(i + 1000L, Session.open(unbatched, ids.get(i)).getLong("n"));
    }
  }

  /** A Commit of session {@code id} setting {@code key} to {@code value}. */
  private static CommitRequest setting(String id, String key, Value value) {
    return CommitRequest.newBuilder()
        .setId(id)
        .addOps(
            Operation.newBuilder().setSet(Operation.SetOp.newBuilder().setKey(key).setValue(value)))
        .build();
  }

  /** The rpcs sessiond finished for Get, Commit and Batch together. */
  private static long getCommitAndBatchRpcs() throws Exception {
    return server.rpcs("Get") + server.rpcs("Commit") + server.rpcs("Batch");
  }

  @Test
  void concurrentCallsShareBatchesAndEachGetsItsOwnResult() throws Exception {
    List<String> ids = sessions(200);
    long batchesBefore = server.rpcs("Batch");
    long rpcsBefore = getCommitAndBatchRpcs();

    loadAndCommitConcurrently(batched, ids);

    long calls = 2L * ids.size();
    long rpcs = getCommitAndBatchRpcs() - rpcsBefore - ids.size(); // less the checking Gets
    assertTrue(server.rpcs("Batch") > batchesBefore, "no Batch rpc");
    assertTrue(rpcs < calls, rpcs + " rpcs for " + calls + " calls");
  }

  @Test
  void withBatchingOffEveryCallIsItsOwnRpc() throws Exception {
    List<String> ids = sessions(50);
    long batchesBefore = server.rpcs("Batch");

    loadAndCommitConcurrently(unbatched, ids);

    assertEquals(batchesBefore, server.rpcs("Batch"));
  }

  /** What {@code call} failed with (unwrapped), or null if it succeeded. */
  private static Throwable failure(CompletableFuture<?> call) {
    return call.handle((response, failure) -> failure == null ? null : Errors.unwrap(failure))
        .join();
  }

  @Test
  void eachCallInABatchGetsExactlyTheErrorItsOwnRpcGives() throws Exception {
    String deleted = sessions(1).get(0);
    unbatched.delete(DeleteRequest.newBuilder().setId(deleted).build());
    String changed = sessions(1).get(0);
    Session.open(unbatched, changed)
        .update(
            s -> {
              s.setLong("n", 7);
              return null;
            });
    CommitRequest stale =
        setting(changed, "n", Values.int64(8)).toBuilder().setReadVersion(1).build();
    String live = sessions(1).get(0);
    List<Function<Client, CompletableFuture<?>>> calls =
        List.of(
            c -> c.getAsync(GetRequest.newBuilder().setId(deleted).build()),
            c -> c.commitAsync(stale),
            c -> c.getAsync(GetRequest.newBuilder().setId("not-an-id").build()),
            c -> c.getAsync(GetRequest.newBuilder().setId(live).build()));
    List<Throwable> alone = new ArrayList<>();
    for (Function<Client, CompletableFuture<?>> call : calls) {
      alone.add(failure(call.apply(unbatched)));
    }
    long batchesBefore = server.rpcs("Batch");

    // One call in flight, then the others queue behind it and go as a Batch when it returns.
    List<CompletableFuture<?>> fillers = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      fillers.add(batched.getAsync(GetRequest.newBuilder().setId(live).build()));
    }
    List<CompletableFuture<?>> together =
        calls.stream().<CompletableFuture<?>>map(c -> c.apply(batched)).toList();
    fillers.forEach(CompletableFuture::join);

    assertTrue(server.rpcs("Batch") > batchesBefore, "no Batch rpc");
    SessionNotFoundException gone =
        assertInstanceOf(SessionNotFoundException.class, failure(together.get(0)));
    assertEquals(NotFoundDetails.Reason.DELETED, gone.reason());
    ConflictException conflict =
        assertInstanceOf(ConflictException.class, failure(together.get(1)));
    assertEquals(List.of("n"), conflict.conflictingKeys());
    assertEquals(2, conflict.currentVersion());
    assertInstanceOf(InvalidArgumentException.class, failure(together.get(2)));
    assertNull(failure(together.get(3)));
    assertEquals(
        Map.of("n", Values.int64(0)), ((GetResponse) together.get(3).join()).getEntriesMap());
    for (int i = 0; i < 3; i++) {
      SessiondException single = (SessiondException) alone.get(i);
      SessiondException inBatch = (SessiondException) failure(together.get(i));
      assertEquals(single.getClass(), inBatch.getClass());
      assertEquals(single.code(), inBatch.code());
      assertEquals(single.getMessage(), inBatch.getMessage());
    }
    assertEquals(gone.endedAt(), ((SessionNotFoundException) alone.get(0)).endedAt());
    assertEquals(conflict.conflictingKeys(), ((ConflictException) alone.get(1)).conflictingKeys());
    assertEquals(conflict.currentVersion(), ((ConflictException) alone.get(1)).currentVersion());
  }

  @Test
  void aCallOverTheByteLimitIsItsOwnRpc() throws Exception {
    String id = sessions(1).get(0);
    CommitRequest large = setting(id, "large", Values.string("x".repeat(4096)));
    try (Client small =
        Client.connect(server.address(), ClientOptions.defaults().withBatchLimits(128, 1024))) {
      long commitsBefore = server.rpcs("Commit");
      List<CompletableFuture<?>> calls = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        calls.add(small.getAsync(GetRequest.newBuilder().setId(id).build()));
      }
      calls.add(small.commitAsync(large));
      calls.forEach(CompletableFuture::join);
      assertEquals(commitsBefore + 1, server.rpcs("Commit"));
    }
    assertEquals(4096, Session.open(unbatched, id).getString("large").length());
  }

  @Test
  void aRefusedBatchFailsEveryCallInItWithItsError() throws Exception {
    try (SessiondServer strict = SessiondServer.start("--max_batch_operations=2");
        Client client = Client.connect(strict.address())) {
      String id =
          client.createSession(CreateSessionRequest.getDefaultInstance()).getSession().getId();
      GetRequest get = GetRequest.newBuilder().setId(id).build();
      List<CompletableFuture<?>> queued = new ArrayList<>();
      strict.pause();
      CompletableFuture<?> inFlight;
      try {
        inFlight = client.getAsync(get);
        for (int i = 0; i < 3; i++) {
          queued.add(client.getAsync(get));
        }
      } finally {
        strict.resume();
      }

      // The 3 queued calls go as one Batch when inFlight returns; the server refuses it whole.
      assertNull(failure(inFlight));
      for (CompletableFuture<?> call : queued) {
        InvalidArgumentException refused =
            assertInstanceOf(InvalidArgumentException.class, failure(call));
        assertTrue(refused.getMessage().contains("max_batch_operations"), refused.getMessage());
      }
    }
  }

  @Test
  void aQueuedCallWaitsOnlyUntilItsOwnDeadline() throws Exception {
    try (SessiondServer frozen = SessiondServer.start();
        Client hurried =
            Client.connect(
                frozen.address(), ClientOptions.defaults().withTimeout(Duration.ofSeconds(1)))) {
      GetRequest unknown = GetRequest.newBuilder().setId("A".repeat(32)).build();
      assertInstanceOf(SessionNotFoundException.class, failure(hurried.getAsync(unknown)));
      frozen.pause();
      try {
        CompletableFuture<?> inFlight = hurried.getAsync(unknown);
        Thread.sleep(100);
        CompletableFuture<?> early = hurried.getAsync(unknown);
        Thread.sleep(400);
        CompletableFuture<?> late = hurried.getAsync(unknown);

        // early and late go as one Batch when inFlight times out, under late's deadline; early
        // gives up at its own, 0.4 s before the Batch's.
        SessiondException gaveUp = (SessiondException) failure(early);
        assertFalse(late.isDone(), "the batch's later deadline held the earlier caller");
        assertEquals(Status.Code.DEADLINE_EXCEEDED, gaveUp.code());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, ((SessiondException) failure(inFlight)).code());
        assertEquals(Status.Code.DEADLINE_EXCEEDED, ((SessiondException) failure(late)).code());
      } finally {
        frozen.resume();
      }
    }
  }
}
