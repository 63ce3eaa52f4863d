package dev.sessiond.client;

import dev.sessiond.v1.Value;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * What a new session starts with: initial entries, the principal (user id) it belongs to, and its
 * idle and absolute timeouts (null: the server's defaults).
 *
 * @param entries initial typed entries (see {@link Values} to build them)
 * @param principal the user the session belongs to; empty for none
 * @param idleTimeout the idle (sliding) timeout, or null for the server default
 * @param absoluteTimeout the absolute lifetime from creation, or null for the server default
 */
public record CreateOptions(
    Map<String, Value> entries, String principal, Duration idleTimeout, Duration absoluteTimeout) {
  /** Copies the entries; the principal must not be null. */
  public CreateOptions {
    entries = Map.copyOf(entries);
    Objects.requireNonNull(principal, "principal");
  }

  /** No entries, no principal, the server's default timeouts. */
  public static CreateOptions defaults() {
    return new CreateOptions(Map.of(), "", null, null);
  }

  /** These options with {@code newEntries} as the initial entries. */
  public CreateOptions withEntries(Map<String, Value> newEntries) {
    return new CreateOptions(newEntries, principal, idleTimeout, absoluteTimeout);
  }

  /** These options with {@code newPrincipal} as the principal. */
  public CreateOptions withPrincipal(String newPrincipal) {
    return new CreateOptions(entries, newPrincipal, idleTimeout, absoluteTimeout);
  }

  /** These options with the given timeouts (null: the server's default). */
  public CreateOptions withTimeouts(Duration idle, Duration absolute) {
    return new CreateOptions(entries, principal, idle, absolute);
  }
}
