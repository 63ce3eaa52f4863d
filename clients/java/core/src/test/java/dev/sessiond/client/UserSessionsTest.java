package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.testing.WithSessiond;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.ListSessionsRequest;
import dev.sessiond.v1.NotFoundDetails;
import dev.sessiond.v1.RevokeSessionsRequest;
import dev.sessiond.v1.SessionEvent;
import dev.sessiond.v1.SessionInfo;
import dev.sessiond.v1.WatchSessionsRequest;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A user's sessions against a real sessiond: list, revoke, why a session is gone, and watch. */
@Timeout(30)
class UserSessionsTest extends WithSessiond {
  private static String login(String principal, String device) {
    return client
        .createSession(
            CreateSessionRequest.newBuilder()
                .setPrincipal(principal)
                .putLabels("device", device)
                .build())
        .getSession()
        .getId();
  }

  /** The events about session {@code id} from {@code from} on, until {@code count} of them. */
  private static List<SessionEvent> eventsOf(String id, long from, int count) {
    List<SessionEvent> events = new ArrayList<>();
    try (EventStream stream =
        client.watchSessions(WatchSessionsRequest.newBuilder().setFromSequence(from).build())) {
      while (events.size() < count) {
        SessionEvent event = stream.next();
        if (event.getId().equals(id)) {
          events.add(event);
        }
      }
    }
    return events;
  }

  @Test
  void listsNewestFirstAndRevokesAllButTheCurrentOne() {
    String phone = login("java-alice", "phone");
    String laptop = login("java-alice", "laptop");
    List<SessionInfo> listed =
        client
            .listSessions(ListSessionsRequest.newBuilder().setPrincipal("java-alice").build())
            .getSessionsList();
    assertEquals(List.of(laptop, phone), listed.stream().map(SessionInfo::getId).toList());
    assertEquals(Map.of("device", "laptop"), listed.get(0).getLabelsMap());
    assertTrue(listed.get(0).hasLastAccessAt());

    long revoked =
        client
            .revokeSessions(
                RevokeSessionsRequest.newBuilder()
                    .setPrincipal("java-alice")
                    .addExceptIds(laptop)
                    .build())
            .getRevoked();
    assertEquals(1, revoked);
    SessionNotFoundException gone =
        assertThrows(
            SessionNotFoundException.class,
            () -> client.get(GetRequest.newBuilder().setId(phone).build()));
    assertEquals(NotFoundDetails.Reason.REVOKED, gone.reason());
    assertTrue(gone.endedAt().isPresent());
  }

  @Test
  void aSessionThatNeverExistedHasNoReason() {
    SessionNotFoundException unknown =
        assertThrows(
            SessionNotFoundException.class,
            () -> client.get(GetRequest.newBuilder().setId("A".repeat(32)).build()));
    assertEquals(NotFoundDetails.Reason.UNKNOWN, unknown.reason());
    assertTrue(unknown.endedAt().isEmpty());
  }

  @Test
  void watchYieldsASessionsEventsInOrderAndResumes() {
    String id = login("java-bob", "tablet");
    Session session = Session.open(client, id);
    session.setString("theme", "dark");
    session.commit();
    session.delete();

    List<SessionEvent> events = eventsOf(id, 1, 3);
    assertEquals(
        List.of(SessionEvent.Kind.CREATED, SessionEvent.Kind.UPDATED, SessionEvent.Kind.DELETED),
        events.stream().map(SessionEvent::getKind).toList());
    assertEquals(List.of("theme"), events.get(1).getChangedKeysList());
    List<SessionEvent> resumed = eventsOf(id, events.get(0).getSequence() + 1, 1);
    assertEquals(events.get(1).getSequence(), resumed.get(0).getSequence());
  }

  @Test
  void watchingFromASequenceOutsideTheLogIsOutOfRange() {
    try (EventStream stream =
        client.watchSessions(WatchSessionsRequest.newBuilder().setFromSequence(1L << 40).build())) {
      SessiondException error = assertThrows(SessiondException.class, stream::next);
      assertEquals(Status.Code.OUT_OF_RANGE, error.code());
    }
  }
}
