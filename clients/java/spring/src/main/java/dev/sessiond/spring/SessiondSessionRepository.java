package dev.sessiond.spring;

import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.SessionNotFoundException;
import org.springframework.session.SessionRepository;

/**
 * Spring Session's {@link SessionRepository} on sessiond. {@link #createSession()} makes a session
 * that exists only locally, under a freshly proposed random id, until {@link #save} stores
 * something in it (CreateSession); {@link #findById} loads every entry with one Get (null when the
 * session is unknown, expired or deleted); {@link #save} commits only the changed attributes with
 * the loaded version as read_version, so a concurrent change to the same attribute fails the
 * request with a {@link dev.sessiond.client.ConflictException}; {@link #deleteById} calls Delete.
 *
 * <p>It is not a {@code FindByIndexNameSessionRepository}: sessiond has no rpc to list a
 * principal's sessions yet. Thread-safe.
 */
public final class SessiondSessionRepository implements SessionRepository<SessiondSpringSession> {
  private final Client client;
  private final AttributeCodec codec;
  private final CreateOptions createOptions;

  /** A repository over {@code client}; new sessions get {@code createOptions}. */
  public SessiondSessionRepository(
      Client client, AttributeCodec codec, CreateOptions createOptions) {
    this.client = client;
    this.codec = codec;
    this.createOptions = createOptions;
  }

  @Override
  public SessiondSpringSession createSession() {
    return new SessiondSpringSession(Session.startNew(client, createOptions), codec);
  }

  @Override
  public void save(SessiondSpringSession session) {
    session.session().commit();
  }

  @Override
  public SessiondSpringSession findById(String id) {
    Session session = Session.open(client, id);
    try {
      session.load();
    } catch (SessionNotFoundException e) {
      return null;
    }
    return new SessiondSpringSession(session, codec);
  }

  @Override
  public void deleteById(String id) {
    Session.open(client, id).delete();
  }
}
