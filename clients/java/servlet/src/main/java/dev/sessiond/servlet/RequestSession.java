package dev.sessiond.servlet;

import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.SessionNotFoundException;
import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

/**
 * The session of one request through {@link SessiondFilter}, following docs/COOKIES.md's "request's
 * life": the cookie's session is loaded when the handler first asks for it (a gone one reads as
 * none), a new one is created only if something is stored, and {@link #finish} commits before the
 * response and sends {@code Set-Cookie} only on create, rotate and end. Not thread-safe: one
 * request's.
 */
final class RequestSession {
  private final Client client;
  private final SessionCookie cookie;
  private final AttributeCodec codec;
  private final CreateOptions createOptions;
  private final ServletContext context;
  // The well-formed session id the request's cookie carries, or null.
  private final String cookieId;
  private boolean lookedUp;
  // Whether the cookie's session was found unknown, expired or deleted.
  private boolean gone;
  // Whether the handler invalidated a session this request.
  private boolean ended;
  private boolean rotated;
  private boolean finished;
  private Session session;
  private SessiondHttpSession httpSession;

  RequestSession(
      Client client,
      SessionCookie cookie,
      AttributeCodec codec,
      CreateOptions createOptions,
      ServletContext context,
      String cookieId) {
    this.client = client;
    this.cookie = cookie;
    this.codec = codec;
    this.createOptions = createOptions;
    this.context = context;
    this.cookieId = cookieId;
  }

  /** The well-formed id the request's cookie carries, or null. */
  String cookieId() {
    return cookieId;
  }

  /**
   * The request's session: the cookie's (loaded now, once), else a new one if {@code create}, else
   * null.
   */
  HttpSession get(boolean create) {
    if (httpSession != null) {
      return httpSession;
    }
    if (cookieId != null && !lookedUp) {
      lookedUp = true;
      Session opened = Session.open(client, cookieId);
      try {
        opened.load();
        return adopt(opened);
      } catch (SessionNotFoundException e) {
        gone = true;
      }
    }
    return create ? adopt(Session.startNew(client, createOptions)) : null;
  }

  /** Rotates the current session's id (login); returns the new id. */
  String rotate() {
    if (httpSession == null) {
      throw new IllegalStateException("there is no session to change the id of");
    }
    session.rotateId();
    rotated = true;
    return session.id();
  }

  /** Ends the current session (logout): Delete now, clear the cookie at the end. */
  void invalidate() {
    session.delete();
    ended = true;
    session = null;
    httpSession = null;
  }

  /**
   * Commits the request's changes (once), then adds the {@code Set-Cookie} header the spec asks for
   * to {@code response}, whose status and headers must not be sent yet. Throws what the commit
   * throws, adding no header.
   */
  void finish(HttpServletResponse response) {
    if (finished) {
      return;
    }
    finished = true;
    if (session != null) {
      boolean wasStored = session.isStored();
      session.commit();
      if (session.isStored() && (!wasStored || rotated)) {
        response.addHeader("Set-Cookie", cookie.setHeader(session.id()));
        return;
      }
    }
    if ((ended || gone) && (session == null || !session.isStored())) {
      response.addHeader("Set-Cookie", cookie.clearHeader());
    }
  }

  private HttpSession adopt(Session adopted) {
    session = adopted;
    httpSession = new SessiondHttpSession(this, adopted, codec, context);
    return httpSession;
  }
}
