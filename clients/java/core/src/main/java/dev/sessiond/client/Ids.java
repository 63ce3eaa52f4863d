package dev.sessiond.client;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/** Session ids and idempotency keys: random bytes from a CSPRNG in unpadded base64url. */
public final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]{32}");

  private Ids() {}

  /** A fresh session id to propose in CreateSessionRequest.id: 24 random bytes, 32 characters. */
  public static String newSessionId() {
    return random(24);
  }

  /** Whether {@code id} has the form of a session id (32 characters of base64url). */
  public static boolean isWellFormedSessionId(String id) {
    return id != null && SESSION_ID.matcher(id).matches();
  }

  /** A fresh idempotency key for one mutation: 16 random bytes, 22 characters. */
  static String newRequestId() {
    return random(16);
  }

  private static String random(int bytes) {
    byte[] buffer = new byte[bytes];
    RANDOM.nextBytes(buffer);
    return BASE64URL.encodeToString(buffer);
  }
}
