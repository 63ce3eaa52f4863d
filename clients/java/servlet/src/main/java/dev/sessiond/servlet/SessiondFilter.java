package dev.sessiond.servlet;

import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.ConflictException;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.SessiondException;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;

/**
 * A plain Jakarta Servlet filter that keeps every request's {@code HttpSession} in sessiond and
 * follows docs/COOKIES.md: the cookie's session is loaded when the handler first asks for it, a new
 * session is created only when the handler stores something, the changed attributes are committed
 * in one rpc (with the loaded version as read_version) before the status and headers are sent,
 * {@code request.changeSessionId()} rotates the id (call it at login), {@code session.invalidate()}
 * deletes the session and clears the cookie. The response body is held in memory until the commit
 * has succeeded. A commit that conflicts answers 409; any other failed commit fails the request (a
 * ServletException: 500).
 *
 * <p>Attribute values are typed as {@link AttributeCodec} says. Thread-safe; one instance serves
 * every request.
 */
public final class SessiondFilter implements Filter {
  private final Client client;
  private final SessionCookie cookie;
  private final AttributeCodec codec;
  private final CreateOptions createOptions;

  /**
   * A filter keeping sessions in sessiond through {@code client}, under {@code cookie}, with
   * attributes typed by {@code codec}; new sessions are created with {@code createOptions}.
   */
  public SessiondFilter(
      Client client, SessionCookie cookie, AttributeCodec codec, CreateOptions createOptions) {
    this.client = client;
    this.cookie = cookie;
    this.codec = codec;
    this.createOptions = createOptions;
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    HttpServletRequest request = (HttpServletRequest) req;
    HttpServletResponse response = (HttpServletResponse) res;
    List<String> ids = cookie.read(request);
    RequestSession state =
        new RequestSession(
            client,
            cookie,
            codec,
            createOptions,
            request.getServletContext(),
            ids.isEmpty() ? null : ids.get(0));
    BufferedResponse buffered = new BufferedResponse(response, () -> state.finish(response));
    try {
      chain.doFilter(new SessiondRequest(request, state), buffered);
      buffered.finish();
    } catch (ConflictException e) {
      if (response.isCommitted()) {
        throw e;
      }
      response.reset();
      response.sendError(
          HttpServletResponse.SC_CONFLICT, "session conflict: " + e.conflictingKeys());
    } catch (SessiondException e) {
      throw new ServletException("sessiond: " + e.getMessage(), e);
    }
  }
}
