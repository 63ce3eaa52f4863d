package dev.sessiond.client;

import io.grpc.Status;
import java.util.List;

/**
 * ABORTED: a version conflict. For a commit with read_version, {@link #conflictingKeys()} names the
 * written keys that others changed since the session was loaded (sorted, never empty); for an
 * if_version mismatch it is empty. Reload at or after {@link #currentVersion()} and redo the work.
 */
public final class ConflictException extends SessiondException {
  private final List<String> conflictingKeys;
  private final long currentVersion;

  /** A conflict decoded from the server's ConflictDetails. */
  public ConflictException(
      String message, List<String> conflictingKeys, long currentVersion, Throwable cause) {
    super(Status.Code.ABORTED, message, cause);
    this.conflictingKeys = List.copyOf(conflictingKeys);
    this.currentVersion = currentVersion;
  }

  /** The keys this commit wrote that changed after its read_version; empty for if_version. */
  public List<String> conflictingKeys() {
    return conflictingKeys;
  }

  /** The session's version when the conflict was detected (0 if the server sent no details). */
  public long currentVersion() {
    return currentVersion;
  }
}
