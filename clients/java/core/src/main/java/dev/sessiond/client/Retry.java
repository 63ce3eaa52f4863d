package dev.sessiond.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Re-sends a mutation whose reply was lost (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) up to {@link
 * ClientOptions#commitAttempts()} times in all, after a doubling pause. The caller's {@code send}
 * must carry the same request_id every time, so that the server applies it at most once.
 */
final class Retry {
  private Retry() {}

  /** The outcome of the first attempt of {@code send} that is not a lost reply, or the last. */
  static <T> CompletableFuture<T> withRetries(
      ClientOptions options, Supplier<CompletableFuture<T>> send) {
    return attempt(options, send, 1);
  }

  private static <T> CompletableFuture<T> attempt(
      ClientOptions options, Supplier<CompletableFuture<T>> send, int attempt) {
    return send.get()
        .handle(
            (response, failure) -> {
              if (failure == null) {
                return CompletableFuture.completedFuture(response);
              }
              Throwable cause = Errors.unwrap(failure);
              if (attempt < options.commitAttempts()
                  && cause instanceof SessiondException error
                  && Errors.isTransient(error)) {
                long pauseNanos = options.retryBackoff().toNanos() << (attempt - 1);
                return CompletableFuture.supplyAsync(
                        () -> null,
                        CompletableFuture.delayedExecutor(pauseNanos, TimeUnit.NANOSECONDS))
                    .thenCompose(ignored -> attempt(options, send, attempt + 1));
              }
              return CompletableFuture.<T>failedFuture(cause);
            })
        .thenCompose(future -> future);
  }
}
