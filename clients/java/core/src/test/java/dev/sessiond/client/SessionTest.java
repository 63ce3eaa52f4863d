package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessiond.client.testing.WithSessiond;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SessionTest extends WithSessiond {
  private static Session created(Map<String, dev.sessiond.v1.Value> entries) {
    return Session.create(client, CreateOptions.defaults().withEntries(entries));
  }

  @Test
  void createdSessionReadsItsEntriesAtVersionOne() {
    Session session =
        Session.create(
            client,
            CreateOptions.defaults()
                .withEntries(Map.of("name", Values.string("Zoë")))
                .withPrincipal("user-7")
                .withTimeouts(Duration.ofMinutes(5), Duration.ofHours(1)));
    assertTrue(session.isNew());
    assertEquals(32, session.id().length());
    assertEquals(1, session.info().getVersion());
    assertEquals("user-7", session.info().getPrincipal());
    assertEquals(300, session.info().getIdleTimeout().getSeconds());

    Session opened = Session.open(client, session.id());
    assertFalse(opened.isNew());
    assertEquals("Zoë", opened.getString("name"));
    assertEquals(1, opened.info().getVersion());
  }

  @Test
  void gettersReturnNullForAbsentKeysAndOtherTypes() {
    Session session = created(Map.of("n", Values.int64(5), "s", Values.string("5")));
    Session opened = Session.open(client, session.id());
    assertEquals(5L, opened.getLong("n"));
    assertEquals(5, opened.getInt("n"));
    assertNull(opened.getString("n"));
    assertNull(opened.getDouble("n"));
    assertNull(opened.getLong("s"));
    assertNull(opened.getBool("s"));
    assertNull(opened.getBytes("s"));
    assertNull(opened.getJson("s"));
    assertNull(opened.getString("absent"));
    opened.setLong("big", 1L << 40);
    assertNull(opened.getInt("big"));
    assertEquals(1L << 40, opened.getLong("big"));
  }

  @Test
  void pendingChangesAreVisibleAndCommitInOneVersion() {
    Session session = created(Map.of("a", Values.string("1"), "b", Values.string("2")));
    Session opened = Session.open(client, session.id());
    opened.setBool("flag", true);
    opened.setBytes("raw", new byte[] {0, (byte) 0xff});
    opened.setDouble("pi", 3.25);
    opened.remove("a");
    assertTrue(opened.hasPendingChanges());
    assertEquals(Set.of("b", "flag", "pi", "raw"), opened.keys());
    opened.commit();
    assertFalse(opened.hasPendingChanges());
    assertEquals(2, opened.info().getVersion());

    Session reread = Session.open(client, session.id());
    assertEquals(Set.of("b", "flag", "pi", "raw"), reread.keys());
    assertEquals(true, reread.getBool("flag"));
    assertArrayEquals(new byte[] {0, (byte) 0xff}, reread.getBytes("raw"));
    assertEquals(3.25, reread.getDouble("pi"));
    assertEquals(2, reread.info().getVersion());
  }

  @Test
  void clearThenSetKeepsOnlyTheNewKeys() {
    Session session = created(Map.of("a", Values.string("1"), "b", Values.string("2")));
    session.clear();
    session.setString("c", "3");
    assertEquals(Set.of("c"), session.keys());
    session.commit();
    assertEquals(Set.of("c"), Session.open(client, session.id()).keys());
  }

  @Test
  void commitWithNothingPendingCallsNoServer() {
    Session session = Session.open(client, Ids.newSessionId());
    session.commit();
    assertFalse(session.hasPendingChanges());
  }

  @Test
  void writesToDifferentKeysBothCommit() {
    Session session = created(Map.of("x", Values.int64(0), "y", Values.int64(0)));
    Session first = Session.open(client, session.id());
    Session second = Session.open(client, session.id());
    first.load();
    second.load();
    first.setLong("x", 1);
    second.setLong("y", 2);
    first.commit();
    second.commit();
    Session reread = Session.open(client, session.id());
    assertEquals(1L, reread.getLong("x"));
    assertEquals(2L, reread.getLong("y"));
  }

  @Test
  void aConflictNamesTheKeysAndKeepsTheChangesPending() {
    Session session = created(Map.of("cart", Values.string("empty"), "other", Values.int64(0)));
    Session first = Session.open(client, session.id());
    Session second = Session.open(client, session.id());
    first.load();
    second.load();
    first.setString("cart", "first");
    first.commit();
    second.setString("cart", "second");
    second.setLong("other", 9);
    ConflictException conflict = assertThrows(ConflictException.class, second::commit);
    assertEquals(List.of("cart"), conflict.conflictingKeys());
    assertEquals(2, conflict.currentVersion());
    assertEquals(List.of("cart"), second.conflictingKeys());
    assertTrue(second.hasPendingChanges());

    second.reload();
    assertEquals("first", second.getString("cart"));
    assertFalse(second.hasPendingChanges());
    assertTrue(second.conflictingKeys().isEmpty());
  }

  @Test
  void updateReloadsAndRerunsTheWorkOnAConflict() {
    Session session = created(Map.of("visits", Values.int64(0)));
    Session racer = Session.open(client, session.id());
    Session worker = Session.open(client, session.id());
    worker.load();
    AtomicInteger runs = new AtomicInteger();
    long result =
        worker.update(
            s -> {
              if (runs.incrementAndGet() == 1) {
                racer.setLong("visits", 10);
                racer.commit();
              }
              long visits = s.getLong("visits") + 1;
              s.setLong("visits", visits);
              return visits;
            });
    assertEquals(2, runs.get());
    assertEquals(11, result);
    assertEquals(11L, Session.open(client, session.id()).getLong("visits"));
  }

  @Test
  void updateGivesUpAfterTheAttempts() {
    Session session = created(Map.of("k", Values.int64(0)));
    Session worker = Session.open(client, session.id());
    worker.load();
    AtomicInteger runs = new AtomicInteger();
    assertThrows(
        ConflictException.class,
        () ->
            worker.update(
                2,
                s -> {
                  runs.incrementAndGet();
                  Session racer = Session.open(client, session.id());
                  racer.setLong("k", runs.get() * 100L);
                  racer.commit();
                  s.setLong("k", -1);
                  return null;
                }));
    assertEquals(2, runs.get());
  }

  @Test
  void rotateKeepsTheDataAndKillsTheOldId() {
    Session session = created(Map.of("user", Values.string("ada")));
    String oldId = session.id();
    session.rotateId();
    assertNotEquals(oldId, session.id());
    assertEquals(2, session.info().getVersion());
    assertEquals("ada", Session.open(client, session.id()).getString("user"));
    assertThrows(SessionNotFoundException.class, () -> Session.open(client, oldId).load());
  }

  @Test
  void deleteEndsTheSession() {
    Session session = created(Map.of("user", Values.string("ada")));
    assertTrue(session.delete());
    assertThrows(SessionNotFoundException.class, () -> Session.open(client, session.id()).load());
    assertThrows(SessionNotFoundException.class, () -> session.getString("user"));
    assertFalse(Session.open(client, session.id()).delete());
  }

  @Test
  void anUnknownSessionIsNotFoundOnFirstRead() {
    Session session = Session.open(client, Ids.newSessionId());
    assertThrows(SessionNotFoundException.class, () -> session.getString("x"));
    assertThrows(SessionNotFoundException.class, session::keys);
  }

  @Test
  void aMalformedIdIsAnInvalidArgument() {
    assertThrows(InvalidArgumentException.class, () -> Session.open(client, "short").load());
  }

  @Test
  void startNewCreatesNothingUntilSomethingIsStored() {
    Session session = Session.startNew(client, CreateOptions.defaults());
    String proposed = session.id();
    assertTrue(Ids.isWellFormedSessionId(proposed));
    assertNull(session.getString("anything"));
    session.commit();
    assertFalse(session.isStored());
    session.setString("gone", "soon");
    session.remove("gone");
    session.commit();
    assertFalse(session.isStored());
    assertFalse(session.hasPendingChanges());
    assertThrows(SessionNotFoundException.class, () -> Session.open(client, proposed).load());

    session.setString("cart", "1 book");
    session.commit();
    assertTrue(session.isStored());
    assertEquals("1 book", Session.open(client, session.id()).getString("cart"));
  }

  @Test
  void startNewCreatesTheSessionUnderTheProposedId() {
    Session session = Session.startNew(client, CreateOptions.defaults());
    String proposed = session.id();
    session.setString("k", "v");
    session.commit();
    assertEquals(proposed, session.id());
  }

  @Test
  void jsonValuesRoundTrip() {
    Session session = Session.startNew(client, CreateOptions.defaults());
    session.setJson("cart", Map.of("items", List.of("a", "b"), "total", 9.5));
    session.commit();
    Session reread = Session.open(client, session.id());
    JsonNode cart = reread.getJson("cart");
    assertEquals("b", cart.get("items").get(1).asText());
    assertEquals(9.5, cart.get("total").asDouble());
    assertEquals(List.of("a", "b"), reread.getJson("cart", Map.class).get("items"));
    assertNull(reread.getString("cart"));
  }

  @Test
  void asyncMethodsCompleteWithTheSameOutcomes() throws Exception {
    Session session =
        Session.createAsync(
                client, CreateOptions.defaults().withEntries(Map.of("n", Values.int64(1))))
            .get();
    Session opened = Session.open(client, session.id());
    opened.loadAsync().get();
    assertEquals(1L, opened.getLong("n"));
    opened.setLong("n", 2);
    opened.commitAsync().get();
    opened.rotateIdAsync().get();
    assertEquals(2L, Session.open(client, opened.id()).getLong("n"));
    assertTrue(opened.deleteAsync().get());

    CompletionException gone =
        assertThrows(
            CompletionException.class, () -> Session.open(client, opened.id()).loadAsync().join());
    assertTrue(gone.getCause() instanceof SessionNotFoundException);
  }

  @Test
  void everyCallHasTheClientsDeadline() {
    String id = created(Map.of()).id();
    try (Client hurried =
        Client.connect(
            client.address(), ClientOptions.defaults().withTimeout(Duration.ofNanos(1)))) {
      SessiondException error =
          assertThrows(SessiondException.class, () -> Session.open(hurried, id).load());
      assertEquals(io.grpc.Status.Code.DEADLINE_EXCEEDED, error.code());
    }
  }

  @Test
  void anUnreachableServerIsUnavailableNamingTheAddress() throws Exception {
    try (Client unreachable =
        Client.connect(
            "127.0.0.1:1", ClientOptions.defaults().withRetries(2, Duration.ofMillis(1)))) {
      Session session = Session.open(unreachable, Ids.newSessionId());
      SessiondUnavailableException error =
          assertThrows(SessiondUnavailableException.class, session::load);
      assertEquals("127.0.0.1:1", error.address());
      assertTrue(error.getMessage().contains("127.0.0.1:1"), error.getMessage());
    }
  }
}
