package dev.sessiond.client;

import io.grpc.Status;

/**
 * An rpc to sessiond failed. The subclasses name the outcomes callers handle: {@link
 * SessionNotFoundException}, {@link ConflictException}, {@link SessiondUnavailableException} and
 * {@link InvalidArgumentException}; any other gRPC code (RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED,
 * ALREADY_EXISTS, ...) arrives as this class with its {@link #code()}.
 */
public class SessiondException extends RuntimeException {
  private final Status.Code code;

  /** An error with gRPC code {@code code} and a message naming what failed. */
  public SessiondException(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The gRPC status code the server (or the transport) gave. */
  public Status.Code code() {
    return code;
  }
}
