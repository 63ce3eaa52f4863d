package dev.sessiond.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.sessiond.v1.BatchResult;
import dev.sessiond.v1.ConflictDetails;
import dev.sessiond.v1.NotFoundDetails;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Converts what gRPC throws, and the failed results of a Batch, into the typed {@link
 * SessiondException}s, in one place.
 */
final class Errors {
  private Errors() {}

  /** The typed error for {@code failure} of a call to sessiond at {@code address}. */
  static SessiondException from(Throwable failure, String address) {
    Throwable cause = unwrap(failure);
    if (cause instanceof SessiondException typed) {
      return typed;
    }
    Status status = Status.fromThrowable(cause);
    String description = status.getDescription() == null ? "" : ": " + status.getDescription();
    String message = "sessiond at " + address + ": " + status.getCode() + description;
    switch (status.getCode()) {
      case NOT_FOUND:
        return detail(cause, NotFoundDetails.class)
            .map(
                gone ->
                    new SessionNotFoundException(
                        message,
                        gone.getReason(),
                        Instant.ofEpochSecond(
                            gone.getEndedAt().getSeconds(), gone.getEndedAt().getNanos()),
                        cause))
            .orElseGet(() -> new SessionNotFoundException(message, cause));
      case INVALID_ARGUMENT:
        return new InvalidArgumentException(message, cause);
      case UNAVAILABLE:
        return new SessiondUnavailableException(address, message, cause);
      case ABORTED:
        return conflict(message, cause);
      default:
        return new SessiondException(status.getCode(), message, cause);
    }
  }

  /**
   * The typed error for a failed operation of a Batch: exactly what its single call would have
   * thrown (same class, code, message and details), made by the conversion above from the status
   * the single call would have carried.
   */
  static SessiondException from(BatchResult result, String address) {
    com.google.rpc.Status.Builder status =
        com.google.rpc.Status.newBuilder()
            .setCode(result.getCode())
            .setMessage(result.getMessage());
    if (result.hasConflict()) {
      status.addDetails(Any.pack(result.getConflict()));
    }
    if (result.hasNotFound()) {
      status.addDetails(Any.pack(result.getNotFound()));
    }
    return from(StatusProto.toStatusRuntimeException(status.build()), address);
  }

  /** Whether a mutation that failed with {@code e} may have been lost in transit and is retried. */
  static boolean isTransient(SessiondException e) {
    return switch (e.code()) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED -> true;
      default -> false;
    };
  }

  /** The failure inside the wrappers futures add. */
  static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof CancellationException) {
      return Status.CANCELLED.withDescription("the call was cancelled").asRuntimeException();
    }
    return cause;
  }

  /** An ABORTED error, with the ConflictDetails of its google.rpc.Status trailer when present. */
  private static ConflictException conflict(String message, Throwable cause) {
    return detail(cause, ConflictDetails.class)
        .map(
            conflict ->
                new ConflictException(
                    message,
                    conflict.getConflictingKeysList(),
                    conflict.getCurrentVersion(),
                    cause))
        .orElseGet(() -> new ConflictException(message, List.of(), 0, cause));
  }

  /** The detail of type {@code type} in the google.rpc.Status trailer of {@code cause}, if any. */
  private static <T extends Message> Optional<T> detail(Throwable cause, Class<T> type) {
    com.google.rpc.Status details = StatusProto.fromThrowable(cause);
    if (details == null) {
      return Optional.empty();
    }
    for (Any any : details.getDetailsList()) {
      if (any.is(type)) {
        try {
          return Optional.of(any.unpack(type));
        } catch (InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }
}
