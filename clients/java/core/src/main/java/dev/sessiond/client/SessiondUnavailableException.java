package dev.sessiond.client;

import io.grpc.Status;

/**
 * UNAVAILABLE: sessiond at {@link #address()} could not be reached, or its store cannot serve right
 * now. Nothing was written by the failed call (a retried mutation may have been applied earlier).
 */
public final class SessiondUnavailableException extends SessiondException {
  private final String address;

  /** The error for sessiond at {@code address} being unreachable or unable to serve. */
  public SessiondUnavailableException(String address, String message, Throwable cause) {
    super(Status.Code.UNAVAILABLE, message, cause);
    this.address = address;
  }

  /** The target the client was connected to, as given to {@link Client#connect}. */
  public String address() {
    return address;
  }
}
