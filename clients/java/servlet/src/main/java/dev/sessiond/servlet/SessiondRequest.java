package dev.sessiond.servlet;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpSession;

/**
 * The request {@link SessiondFilter} passes on: its HttpSession is the sessiond session of the
 * request's cookie, and {@link #changeSessionId()} rotates it (RotateId).
 */
final class SessiondRequest extends HttpServletRequestWrapper {
  private final RequestSession state;

  SessiondRequest(HttpServletRequest request, RequestSession state) {
    super(request);
    this.state = state;
  }

  @Override
  public HttpSession getSession(boolean create) {
    return state.get(create);
  }

  @Override
  public HttpSession getSession() {
    return state.get(true);
  }

  @Override
  public String changeSessionId() {
    return state.rotate();
  }

  @Override
  public String getRequestedSessionId() {
    return state.cookieId();
  }

  @Override
  public boolean isRequestedSessionIdValid() {
    HttpSession session = state.get(false);
    return session != null && session.getId().equals(state.cookieId());
  }

  @Override
  public boolean isRequestedSessionIdFromCookie() {
    return state.cookieId() != null;
  }

  @Override
  public boolean isRequestedSessionIdFromURL() {
    return false;
  }
}
