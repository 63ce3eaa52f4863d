package dev.sessiond.spring;

import com.google.protobuf.Timestamp;
import dev.sessiond.client.AttributeCodec;
import dev.sessiond.v1.SessionInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * A Spring Session {@link org.springframework.session.Session} backed by a sessiond {@link
 * dev.sessiond.client.Session}: attributes are typed by an {@link AttributeCodec}, changes are
 * recorded locally and saved by {@link SessiondSessionRepository#save} in one Commit of the changed
 * keys with the loaded version as read_version. {@link #changeSessionId()} calls RotateId at once.
 * Expiry is the server's: {@link #setMaxInactiveInterval} and {@link #setLastAccessedTime} change
 * nothing (reads renew the idle timer on the server), and a session found is never expired.
 */
public final class SessiondSpringSession implements org.springframework.session.Session {
  private final dev.sessiond.client.Session session;
  private final AttributeCodec codec;
  private final Instant startedAt = Instant.now();

  SessiondSpringSession(dev.sessiond.client.Session session, AttributeCodec codec) {
    this.session = session;
    this.codec = codec;
  }

  /** The sessiond session underneath, for typed access. */
  public dev.sessiond.client.Session session() {
    return session;
  }

  @Override
  public String getId() {
    return session.id();
  }

  @Override
  public String changeSessionId() {
    session.rotateId();
    return session.id();
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> T getAttribute(String name) {
    return (T) codec.get(session, name);
  }

  @Override
  public Set<String> getAttributeNames() {
    return session.keys();
  }

  @Override
  public void setAttribute(String name, Object value) {
    codec.set(session, name, value);
  }

  @Override
  public void removeAttribute(String name) {
    session.remove(name);
  }

  @Override
  public Instant getCreationTime() {
    SessionInfo info = session.info();
    return info.hasCreatedAt() ? instant(info.getCreatedAt()) : startedAt;
  }

  /** Ignored: the server renews the idle timer on every read and write. */
  @Override
  public void setLastAccessedTime(Instant lastAccessedTime) {}

  @Override
  public Instant getLastAccessedTime() {
    SessionInfo info = session.info();
    if (!info.hasIdleExpiresAt()) {
      return startedAt;
    }
    return instant(info.getIdleExpiresAt()).minusSeconds(info.getIdleTimeout().getSeconds());
  }

  /** Ignored: the idle timeout is set at creation (the {@code sessiond.idle-timeout} property). */
  @Override
  public void setMaxInactiveInterval(Duration interval) {}

  @Override
  public Duration getMaxInactiveInterval() {
    return Duration.ofSeconds(session.info().getIdleTimeout().getSeconds());
  }

  @Override
  public boolean isExpired() {
    return false;
  }

  private static Instant instant(Timestamp timestamp) {
    return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
  }
}
