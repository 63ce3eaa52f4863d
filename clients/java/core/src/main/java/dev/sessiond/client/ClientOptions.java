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
 * @param batching whether calls made concurrently are sent together as one Batch rpc (group commit,
 *     see {@link Client}); true by default, false: every call is its own rpc
 * @param maxBatchOperations the most calls in one Batch; 128 by default (the server accepts up to
 *     its --max_batch_operations, 256 by default)
 * @param maxBatchBytes the most bytes of serialized requests in one Batch; 512 KiB by default. A
 *     call larger than this on its own is sent as its own rpc
 * @param nearCacheMaxBytes the byte bound of the near cache, which serves reads of sessions from
 *     process memory while its invalidation stream holds a lease (see {@link Client}); 0 by
 *     default: no near cache
 */
public record ClientOptions(
    Duration timeout,
    int commitAttempts,
    Duration retryBackoff,
    boolean batching,
    int maxBatchOperations,
    int maxBatchBytes,
    long nearCacheMaxBytes) {
  /**
   * Checks the settings: positive durations, at least one attempt, batches of at least 2, a near
   * cache bound of at least 0.
   */
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
    if (maxBatchOperations < 2) {
      throw new IllegalArgumentException(
          "maxBatchOperations must be at least 2, got " + maxBatchOperations);
    }
    if (maxBatchBytes < 1) {
      throw new IllegalArgumentException("maxBatchBytes must be positive, got " + maxBatchBytes);
    }
    if (nearCacheMaxBytes < 0) {
      throw new IllegalArgumentException(
          "nearCacheMaxBytes must not be negative, got " + nearCacheMaxBytes);
    }
  }

  /**
   * A 2 s deadline, 3 attempts, 50 ms first backoff, batching on (128 calls, 512 KiB), no near
   * cache.
   */
  public static ClientOptions defaults() {
    return new ClientOptions(
        Duration.ofSeconds(2), 3, Duration.ofMillis(50), true, 128, 512 << 10, 0);
  }

  /** These options with another deadline per rpc. */
  public ClientOptions withTimeout(Duration newTimeout) {
    return new ClientOptions(
        newTimeout,
        commitAttempts,
        retryBackoff,
        batching,
        maxBatchOperations,
        maxBatchBytes,
        nearCacheMaxBytes);
  }

  /** These options with another number of attempts and first backoff for lost replies. */
  public ClientOptions withRetries(int attempts, Duration backoff) {
    return new ClientOptions(
        timeout, attempts, backoff, batching, maxBatchOperations, maxBatchBytes, nearCacheMaxBytes);
  }

  /** These options with automatic batching on (true) or off (every call its own rpc). */
  public ClientOptions withBatching(boolean on) {
    return new ClientOptions(
        timeout,
        commitAttempts,
        retryBackoff,
        on,
        maxBatchOperations,
        maxBatchBytes,
        nearCacheMaxBytes);
  }

  /** These options with other limits per Batch: calls (at least 2) and bytes of requests. */
  public ClientOptions withBatchLimits(int operations, int bytes) {
    return new ClientOptions(
        timeout, commitAttempts, retryBackoff, batching, operations, bytes, nearCacheMaxBytes);
  }

  /**
   * These options with a near cache of at most {@code maxBytes} (0: none): reads of sessions served
   * from process memory without an rpc while the client's invalidation stream holds a lease.
   */
  public ClientOptions withNearCache(long maxBytes) {
    return new ClientOptions(
        timeout,
        commitAttempts,
        retryBackoff,
        batching,
        maxBatchOperations,
        maxBatchBytes,
        maxBytes);
  }
}
