package dev.sessiond.spring;

import dev.sessiond.servlet.SessionCookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import java.util.List;
import org.springframework.session.web.http.CookieSerializer;
import org.springframework.session.web.http.SessionRepositoryFilter;

/**
 * Spring Session's {@link CookieSerializer} writing and reading the cookie of docs/COOKIES.md
 * exactly ({@link SessionCookie}), instead of Spring's default Base64-encoded id: an Express or
 * Flask tier with the same cookie name and secrets shares the login. A cookie of another form reads
 * as none. It writes an empty value as the spec's clearing cookie, and no cookie for a new session
 * that holds nothing (none was created for it), except that it clears the request's cookie if that
 * named a session that is gone.
 *
 * <p>Limit: Spring Session's filter asks for no cookie at all when the handler never gets a session
 * (or only calls {@code getSession(false)}), so a cookie whose session is gone is not cleared on
 * such a request; it is replaced by the next request that stores something.
 */
public final class SessiondCookieSerializer implements CookieSerializer {
  private final SessionCookie cookie;

  /** A serializer for {@code cookie}. */
  public SessiondCookieSerializer(SessionCookie cookie) {
    this.cookie = cookie;
  }

  @Override
  public void writeCookieValue(CookieValue value) {
    String id = value.getCookieValue();
    if (id == null || id.isEmpty() || value.getCookieMaxAge() == 0) {
      value.getResponse().addHeader("Set-Cookie", cookie.clearHeader());
      return;
    }
    HttpServletRequest request = value.getRequest();
    if (holdsNothingNew(request, id)) {
      if (request.getAttribute(SessionRepositoryFilter.INVALID_SESSION_ID_ATTR) != null
          && !cookie.read(request).isEmpty()) {
        value.getResponse().addHeader("Set-Cookie", cookie.clearHeader());
      }
      return;
    }
    value.getResponse().addHeader("Set-Cookie", cookie.setHeader(id));
  }

  @Override
  public List<String> readCookieValues(HttpServletRequest request) {
    return cookie.read(request);
  }

  /** Whether the request's session {@code id} is new and empty, so it was never created. */
  private static boolean holdsNothingNew(HttpServletRequest request, String id) {
    HttpSession current = request.getSession(false);
    return current != null
        && current.getId().equals(id)
        && current.isNew()
        && !current.getAttributeNames().hasMoreElements();
  }
}
