package dev.sessiond.spring;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The {@code sessiond.*} properties of a Spring Boot app. Setting {@code sessiond.address} turns
 * the integration on.
 *
 * @param address sessiond's "host:port"
 * @param timeout the deadline of every rpc
 * @param batching whether concurrent calls are sent together as Batch rpcs (automatic batching, on
 *     by default; false: each call is its own rpc)
 * @param nearCache the byte bound of the client's near cache, which serves reads of sessions from
 *     memory while its invalidation stream holds a lease (16MB by default; 0: off)
 * @param idleTimeout the idle timeout of new sessions (unset: the server's default)
 * @param absoluteTimeout the absolute lifetime of new sessions (unset: the server's default)
 * @param cookie the session cookie (docs/COOKIES.md)
 * @param jsonTypes for attributes stored as JSON, the class each named attribute reads back as
 *     (others read as Map, List, String, Number, Boolean or null)
 */
@ConfigurationProperties("sessiond")
public record SessiondProperties(
    String address,
    @DefaultValue("2s") Duration timeout,
    @DefaultValue("true") boolean batching,
    @DefaultValue("16MB") DataSize nearCache,
    Duration idleTimeout,
    Duration absoluteTimeout,
    @DefaultValue Cookie cookie,
    Map<String, Class<?>> jsonTypes) {

  /**
   * The {@code sessiond.cookie.*} properties.
   *
   * @param name the cookie name; tiers that share a login use the same
   * @param secrets signing secrets, newest first (empty: unsigned)
   * @param secure whether the cookie is Secure; false only for local development over http
   * @param sameSite Strict, Lax or None
   * @param path the cookie's Path
   * @param domain the cookie's Domain (unset: host-only)
   * @param maxAge makes the cookie persistent for this long (unset: a browser-session cookie)
   */
  public record Cookie(
      @DefaultValue("sessiond") String name,
      List<String> secrets,
      @DefaultValue("true") boolean secure,
      @DefaultValue("Lax") String sameSite,
      @DefaultValue("/") String path,
      String domain,
      Duration maxAge) {}
}
