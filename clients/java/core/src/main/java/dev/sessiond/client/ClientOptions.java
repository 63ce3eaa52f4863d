package dev.sessiond.client;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings for every call a {@link Client} makes.
 *
 * @param timeout the deadline of every rpc, from when it starts; 2 s by default
 * @param commitAttempts how many times a mutation whose reply is lost (UNAVAILABLE,
 *     DEADLINE_EXCEEDED, CANCELLED) is sent in all, each time with the same request_id; 1: no retry
 * @param retryBackoff the pause before the second attempt; it doubles for each further one
 */
public record ClientOptions(Duration timeout, int commitAttempts, Duration retryBackoff) {
  /** Checks the settings: positive durations, at least one attempt. */
  public ClientOptions {
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(retryBackoff, "retryBackoff");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    if (commitAttempts < 1) {
      throw new IllegalArgumentException(
          "commitAttempts must be at least 1, got " + commitAttempts);
    }
    if (retryBackoff.isNegative()) {
      throw new IllegalArgumentException("retryBackoff must not be negative, got " + retryBackoff);
    }
  }

  /** A 2 s deadline, 3 attempts, 50 ms first backoff. */
  public static ClientOptions defaults() {
    return new ClientOptions(Duration.ofSeconds(2), 3, Duration.ofMillis(50));
  }

  /** These options with another deadline per rpc. */
  public ClientOptions withTimeout(Duration newTimeout) {
    return new ClientOptions(newTimeout, commitAttempts, retryBackoff);
  }

  /** These options with another number of attempts and first backoff for lost replies. */
  public ClientOptions withRetries(int attempts, Duration backoff) {
    return new ClientOptions(timeout, attempts, backoff);
  }
}
