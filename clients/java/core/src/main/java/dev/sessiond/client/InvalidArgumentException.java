package dev.sessiond.client;

import io.grpc.Status;

/**
 * INVALID_ARGUMENT: a malformed id, an empty or oversized key, a bad timeout; the message names the
 * field and the limit.
 */
public final class InvalidArgumentException extends SessiondException {
  /** The error the server gave for a request it rejected as malformed. */
  public InvalidArgumentException(String message, Throwable cause) {
    super(Status.Code.INVALID_ARGUMENT, message, cause);
  }
}
