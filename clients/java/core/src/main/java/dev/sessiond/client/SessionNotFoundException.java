package dev.sessiond.client;

import io.grpc.Status;

/** NOT_FOUND: the session is unknown, expired or deleted (or its id was rotated away). */
public final class SessionNotFoundException extends SessiondException {
  /** The error for a session that is gone. */
  public SessionNotFoundException(String message, Throwable cause) {
    super(Status.Code.NOT_FOUND, message, cause);
  }
}
