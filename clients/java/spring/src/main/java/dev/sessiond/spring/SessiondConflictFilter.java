package dev.sessiond.spring;

import dev.sessiond.client.ConflictException;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * Answers 409 Conflict when Spring Session's save of the request's session fails with a {@link
 * ConflictException} (another request changed an attribute this one wrote) and nothing has been
 * sent yet. Registered just outside Spring Session's SessionRepositoryFilter, which saves before
 * the response is committed; any other failed save stays the container's 500.
 */
public final class SessiondConflictFilter extends HttpFilter {
  @Override
  protected void doFilter(
      HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws IOException, ServletException {
    try {
      chain.doFilter(request, response);
    } catch (IOException | ServletException | RuntimeException e) {
      ConflictException conflict = conflictIn(e);
      if (conflict == null || response.isCommitted()) {
        throw e;
      }
      response.reset();
      response.sendError(
          HttpServletResponse.SC_CONFLICT, "session conflict: " + conflict.conflictingKeys());
    }
  }

  private static ConflictException conflictIn(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof ConflictException conflict) {
        return conflict;
      }
    }
    return null;
  }
}
