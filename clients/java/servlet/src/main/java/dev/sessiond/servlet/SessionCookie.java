package dev.sessiond.servlet;

import dev.sessiond.client.Ids;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The session cookie of docs/COOKIES.md, exactly: its value (the id, or {@code
 * <id>.<base64url(HMAC-SHA256(secret, id))>} when secrets are configured: the first signs, any
 * verifies, compared in constant time), its attributes (HttpOnly always; Secure unless turned off;
 * SameSite Lax by default; Path / by default; Domain and Max-Age only when configured) and their
 * order in {@code Set-Cookie}. A cookie of any other form reads as no cookie. Immutable and
 * thread-safe; shared by {@link SessiondFilter} and the Spring Session integration.
 */
public final class SessionCookie {
  private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
  private static final int SIGNATURE_LENGTH = 43;
  private final String name;
  private final List<String> secrets;
  private final boolean secure;
  private final String sameSite;
  private final String path;
  private final String domain;
  private final Duration maxAge;

  private SessionCookie(
      String name,
      List<String> secrets,
      boolean secure,
      String sameSite,
      String path,
      String domain,
      Duration maxAge) {
    this.name = Objects.requireNonNull(name, "name");
    this.secrets = List.copyOf(secrets);
    this.secure = secure;
    this.sameSite = Objects.requireNonNull(sameSite, "sameSite");
    this.path = Objects.requireNonNull(path, "path");
    this.domain = domain;
    this.maxAge = maxAge;
    if (!List.of("Strict", "Lax", "None").contains(sameSite)) {
      throw new IllegalArgumentException("sameSite must be Strict, Lax or None, got " + sameSite);
    }
    if (sameSite.equals("None") && !secure) {
      throw new IllegalArgumentException("SameSite=None requires Secure");
    }
    if (secrets.stream().anyMatch(String::isEmpty)) {
      throw new IllegalArgumentException("a cookie secret must not be empty");
    }
  }

  /**
   * The defaults: name "sessiond", unsigned, Secure, SameSite=Lax, Path=/, no Domain, no Max-Age.
   */
  public static SessionCookie defaults() {
    return new SessionCookie("sessiond", List.of(), true, "Lax", "/", null, null);
  }

  /** This cookie under another name (tiers that share a login use the same one). */
  public SessionCookie withName(String newName) {
    return new SessionCookie(newName, secrets, secure, sameSite, path, domain, maxAge);
  }

  /** This cookie signed with {@code newSecrets}, newest first: the first signs, any verifies. */
  public SessionCookie withSecrets(List<String> newSecrets) {
    return new SessionCookie(name, newSecrets, secure, sameSite, path, domain, maxAge);
  }

  /** This cookie with Secure on or off (off only for local development over http). */
  public SessionCookie withSecure(boolean newSecure) {
    return new SessionCookie(name, secrets, newSecure, sameSite, path, domain, maxAge);
  }

  /** This cookie with SameSite {@code Strict}, {@code Lax} or {@code None}. */
  public SessionCookie withSameSite(String newSameSite) {
    return new SessionCookie(name, secrets, secure, newSameSite, path, domain, maxAge);
  }

  /** This cookie with another Path. */
  public SessionCookie withPath(String newPath) {
    return new SessionCookie(name, secrets, secure, sameSite, newPath, domain, maxAge);
  }

  /** This cookie with a Domain (null: host-only). */
  public SessionCookie withDomain(String newDomain) {
    return new SessionCookie(name, secrets, secure, sameSite, path, newDomain, maxAge);
  }

  /** This cookie persistent for {@code newMaxAge} (null: a browser-session cookie). */
  public SessionCookie withMaxAge(Duration newMaxAge) {
    return new SessionCookie(name, secrets, secure, sameSite, path, domain, newMaxAge);
  }

  /** The cookie's name. */
  public String name() {
    return name;
  }

  /** The cookie value for session {@code id}: the id, or the signed form. */
  public String encode(String id) {
    return secrets.isEmpty() ? id : id + "." + sign(secrets.get(0), id);
  }

  /** The session id in cookie value {@code value}, or empty if it does not have the spec's form. */
  public Optional<String> decode(String value) {
    if (value == null) {
      return Optional.empty();
    }
    if (secrets.isEmpty()) {
      return Ids.isWellFormedSessionId(value) ? Optional.of(value) : Optional.empty();
    }
    int dot = value.indexOf('.');
    if (dot != 32 || value.length() != 32 + 1 + SIGNATURE_LENGTH) {
      return Optional.empty();
    }
    String id = value.substring(0, dot);
    byte[] signature = value.substring(dot + 1).getBytes(StandardCharsets.US_ASCII);
    if (!Ids.isWellFormedSessionId(id)) {
      return Optional.empty();
    }
    boolean valid = false;
    for (String secret : secrets) {
      valid |=
          MessageDigest.isEqual(sign(secret, id).getBytes(StandardCharsets.US_ASCII), signature);
    }
    return valid ? Optional.of(id) : Optional.empty();
  }

  /** The ids of every well-formed cookie of this name that {@code request} carries, in order. */
  public List<String> read(HttpServletRequest request) {
    List<String> ids = new ArrayList<>();
    Cookie[] cookies = request.getCookies();
    if (cookies != null) {
      for (Cookie cookie : cookies) {
        if (cookie.getName().equals(name)) {
          decode(cookie.getValue()).ifPresent(ids::add);
        }
      }
    }
    return ids;
  }

  /** The {@code Set-Cookie} header value that gives the browser session {@code id}. */
  public String setHeader(String id) {
    String age = maxAge == null ? "" : "Max-Age=" + maxAge.toSeconds() + "; ";
    return name + "=" + encode(id) + "; Path=" + path + "; " + domainPart() + age + tail();
  }

  /** The {@code Set-Cookie} header value that clears the cookie. */
  public String clearHeader() {
    return name
        + "=; Path="
        + path
        + "; "
        + domainPart()
        + "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
        + tail();
  }

  private String domainPart() {
    return domain == null ? "" : "Domain=" + domain + "; ";
  }

  private String tail() {
    return "HttpOnly; " + (secure ? "Secure; " : "") + "SameSite=" + sameSite;
  }

  private static String sign(String secret, String id) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return BASE64URL.encodeToString(mac.doFinal(id.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is unavailable", e);
    }
  }
}
