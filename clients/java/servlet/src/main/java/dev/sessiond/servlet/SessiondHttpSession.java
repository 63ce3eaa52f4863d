package dev.sessiond.servlet;

import com.google.protobuf.Timestamp;
import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Session;
import dev.sessiond.v1.SessionInfo;
import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpSession;
import java.util.Collections;
import java.util.Enumeration;

/**
 * An {@link HttpSession} whose attributes live in sessiond, typed by an {@link AttributeCodec}.
 * Attribute changes are recorded locally and committed at the end of the request, only the changed
 * keys: an object read with getAttribute and then mutated must be set again to be stored. The
 * timeouts are the server's (or the filter's {@code CreateOptions}): {@link
 * #setMaxInactiveInterval} is ignored. Binding listeners are not called.
 */
final class SessiondHttpSession implements HttpSession {
  private final RequestSession owner;
  private final Session session;
  private final AttributeCodec codec;
  private final ServletContext context;
  private final long startedAt = System.currentTimeMillis();
  private boolean invalid;

  SessiondHttpSession(
      RequestSession owner, Session session, AttributeCodec codec, ServletContext context) {
    this.owner = owner;
    this.session = session;
    this.codec = codec;
    this.context = context;
  }

  @Override
  public long getCreationTime() {
    check();
    SessionInfo info = session.info();
    return info.hasCreatedAt() ? millis(info.getCreatedAt()) : startedAt;
  }

  @Override
  public String getId() {
    return session.id();
  }

  @Override
  public long getLastAccessedTime() {
    check();
    SessionInfo info = session.info();
    if (!info.hasIdleExpiresAt()) {
      return startedAt;
    }
    return millis(info.getIdleExpiresAt()) - info.getIdleTimeout().getSeconds() * 1000;
  }

  @Override
  public ServletContext getServletContext() {
    return context;
  }

  /** Ignored: the idle timeout is set when the session is created (see the class comment). */
  @Override
  public void setMaxInactiveInterval(int interval) {}

  @Override
  public int getMaxInactiveInterval() {
    return (int) session.info().getIdleTimeout().getSeconds();
  }

  @Override
  public Object getAttribute(String name) {
    check();
    return codec.get(session, name);
  }

  @Override
  public Enumeration<String> getAttributeNames() {
    check();
    return Collections.enumeration(session.keys());
  }

  @Override
  public void setAttribute(String name, Object value) {
    check();
    codec.set(session, name, value);
  }

  @Override
  public void removeAttribute(String name) {
    check();
    session.remove(name);
  }

  @Override
  public void invalidate() {
    check();
    invalid = true;
    owner.invalidate();
  }

  @Override
  public boolean isNew() {
    check();
    return session.isNew();
  }

  private void check() {
    if (invalid) {
      throw new IllegalStateException("the session was invalidated");
    }
  }

  private static long millis(Timestamp timestamp) {
    return timestamp.getSeconds() * 1000 + timestamp.getNanos() / 1_000_000;
  }
}
