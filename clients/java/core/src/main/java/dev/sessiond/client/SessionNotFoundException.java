package dev.sessiond.client;

import dev.sessiond.v1.NotFoundDetails;
import io.grpc.Status;
import java.time.Instant;
import java.util.Optional;

/**
 * NOT_FOUND: the session is unknown, expired or deleted (or its id was rotated away). While the
 * server remembers (its {@code --gone_retention}), {@link #reason()} says why it is gone
 * (EXPIRED_IDLE, EXPIRED_ABSOLUTE, DELETED, REVOKED, EVICTED, ROTATED) and {@link #endedAt()} when;
 * otherwise the reason is UNKNOWN.
 */
public final class SessionNotFoundException extends SessiondException {
  private final NotFoundDetails.Reason reason;
  private final Instant endedAt;

  /** The error for a session that is gone, with no reason given. */
  public SessionNotFoundException(String message, Throwable cause) {
    this(message, NotFoundDetails.Reason.UNKNOWN, null, cause);
  }

  /** The error for a session that ended for {@code reason} at {@code endedAt}. */
  public SessionNotFoundException(
      String message, NotFoundDetails.Reason reason, Instant endedAt, Throwable cause) {
    super(Status.Code.NOT_FOUND, message, cause);
    this.reason = reason;
    this.endedAt = endedAt;
  }

  /** Why the session is gone; UNKNOWN when the server does not say. */
  public NotFoundDetails.Reason reason() {
    return reason;
  }

  /** When it ended, if the server says. */
  public Optional<Instant> endedAt() {
    return Optional.ofNullable(endedAt);
  }
}
