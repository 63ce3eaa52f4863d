package dev.sessiond.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.SessionNotFoundException;
import dev.sessiond.client.testing.Http;
import jakarta.servlet.http.HttpSession;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * What docs/COOKIES.md asks of every Java web-tier glue, checked over real HTTP against a real
 * sessiond. A subclass runs an app with these endpoints over the glue under test:
 *
 * <ul>
 *   <li>GET /read: the "visits" attribute as "TYPE VALUE", or "none" (never creates a session);
 *   <li>GET /touch-only: gets the session (creating it) and stores nothing;
 *   <li>POST /visit: increments "visits" (stored as an Integer) and prints it;
 *   <li>POST /login?user=U: stores "user" then changes the session id, prints the new id;
 *   <li>POST /logout: invalidates the session;
 *   <li>POST /redirect: stores "flash" = "saved" and redirects (302);
 *   <li>POST /cart: stores "cart" = {items: [book, pen], total: 9.5}, "raw" = byte[]{1, 2}, "ratio"
 *       = 0.25, "admin" = false; GET /cart prints "CARTCLASS ITEMS RAWCLASS RATIO ADMIN";
 *   <li>POST /conflict: reads "visits", has another writer set it to 100, then sets it to 7, and
 *       prints "written" (which must not reach the client);
 *   <li>POST /concurrent: reads "visits", has another writer set "other" to 100, then sets "visits"
 *       to 7.
 * </ul>
 */
public abstract class WebTierContract {
  /** What GET /read prints for the "visits" attribute {@code visits}. */
  public static String describeVisits(Object visits) {
    return visits == null ? "none" : visits.getClass().getSimpleName() + " " + visits;
  }

  /** What POST /cart stores, through {@code set} (HttpSession::setAttribute). */
  public static void storeCart(BiConsumer<String, Object> set) {
    set.accept("cart", Map.of("items", List.of("book", "pen"), "total", 9.5));
    set.accept("raw", new byte[] {1, 2});
    set.accept("ratio", 0.25);
    set.accept("admin", false);
  }

  /** What GET /cart prints, reading through {@code get} (HttpSession::getAttribute). */
  public static String describeCart(Function<String, Object> get) {
    Object cart = get.apply("cart");
    return cart.getClass().getSimpleName()
        + " "
        + ((Map<?, ?>) cart).get("items")
        + " "
        + get.apply("raw").getClass().getSimpleName()
        + " "
        + get.apply("ratio")
        + " "
        + get.apply("admin");
  }

  /**
   * What POST /conflict and POST /concurrent ({@code path}) do: read "visits", have another writer
   * set "visits" (/conflict) or "other" (/concurrent) to 100 through {@code client}, then set
   * "visits" to 7.
   */
  public static void writeBehindTheBack(Client client, HttpSession session, String path) {
    session.getAttribute("visits");
    Session other = Session.open(client, session.getId());
    other.setLong(path.equals("/conflict") ? "visits" : "other", 100);
    other.commit();
    session.setAttribute("visits", 7);
  }

  /** The URL of {@code path} on the app. */
  protected abstract String url(String path);

  /** A client of the sessiond the app uses. */
  protected abstract Client client();

  /** The app's cookie: name, secrets and attributes. */
  protected abstract SessionCookie cookie();

  /**
   * The cookie another tier (Express, Flask, ...) sharing the login writes; verified by the app.
   */
  protected abstract SessionCookie otherTierCookie();

  /** The id the app's Set-Cookie header gives. */
  protected String idOf(String setCookie) {
    String pair = Http.cookiePair(setCookie);
    return cookie().decode(pair.substring(pair.indexOf('=') + 1)).orElseThrow();
  }

  /** The Cookie header that sends the app's cookie of {@code setCookie} back. */
  protected static String back(String setCookie) {
    return Http.cookiePair(setCookie);
  }

  /** Whether session {@code id} is gone from sessiond. */
  protected boolean isGone(String id) {
    try {
      Session.open(client(), id).load();
      return false;
    } catch (SessionNotFoundException e) {
      return true;
    }
  }

  @Test
  void aReadOnlyRequestCreatesNothingAndSendsNoCookie() throws Exception {
    Http.Response read = Http.send("GET", url("/read"), null);
    assertEquals("none", read.body());
    assertEquals(List.of(), read.setCookies());
    assertEquals(
        List.of(),
        Http.send("GET", url("/touch-only"), null).setCookies(),
        "a new session holding nothing is not created");
  }

  @Test
  void storingCreatesTheSessionAndSetsTheSpecCookieOnce() throws Exception {
    Http.Response first = Http.send("POST", url("/visit"), null);
    assertEquals("1", first.body());
    assertEquals(1, first.setCookies().size());
    String setCookie = first.setCookies().get(0);
    String id = idOf(setCookie);
    assertEquals(cookie().setHeader(id), setCookie);
    assertEquals(1L, Session.open(client(), id).getLong("visits"));

    Http.Response second = Http.send("POST", url("/visit"), back(setCookie));
    assertEquals("2", second.body());
    assertEquals(List.of(), second.setCookies(), "an existing session sends no Set-Cookie");
    assertEquals("Long 2", Http.send("GET", url("/read"), back(setCookie)).body());
  }

  @Test
  void aLoginFromAnotherTierIsShared() throws Exception {
    Session other = Session.create(client(), CreateOptions.defaults());
    other.setLong("visits", 41);
    other.commit();
    String cookie = otherTierCookie().name() + "=" + otherTierCookie().encode(other.id());
    assertEquals("Long 41", Http.send("GET", url("/read"), cookie).body());
    Http.Response visit = Http.send("POST", url("/visit"), cookie);
    assertEquals("42", visit.body());
    assertEquals(List.of(), visit.setCookies());
    assertEquals(42L, Session.open(client(), other.id()).getLong("visits"));
  }

  @Test
  void forgedOrMalformedCookiesReadAsNoCookie() throws Exception {
    Session other = Session.create(client(), CreateOptions.defaults());
    other.setLong("visits", 5);
    other.commit();
    String name = cookie().name() + "=";
    for (String cookie :
        List.of(
            name + other.id(),
            name + other.id() + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            name + SessionCookie.defaults().withSecrets(List.of("x")).encode(other.id()),
            name + java.util.Base64.getEncoder().encodeToString(other.id().getBytes("US-ASCII")),
            name + "garbage")) {
      Http.Response response = Http.send("GET", url("/read"), cookie);
      assertEquals("none", response.body(), cookie);
      assertEquals(List.of(), response.setCookies(), cookie);
    }
  }

  @Test
  void loginRotatesTheIdAndSendsTheNewCookie() throws Exception {
    String first = Http.send("POST", url("/visit"), null).setCookies().get(0);
    String oldId = idOf(first);
    Http.Response login = Http.send("POST", url("/login?user=ada"), back(first));
    assertEquals(1, login.setCookies().size());
    String newId = idOf(login.setCookies().get(0));
    assertNotEquals(oldId, newId);
    assertEquals(newId, login.body());
    Session rotated = Session.open(client(), newId);
    assertEquals("ada", rotated.getString("user"));
    assertEquals(1L, rotated.getLong("visits"));
    assertTrue(isGone(oldId), "the old id is dead");
  }

  @Test
  void logoutDeletesTheSessionAndClearsTheCookie() throws Exception {
    String setCookie = Http.send("POST", url("/visit"), null).setCookies().get(0);
    Http.Response logout = Http.send("POST", url("/logout"), back(setCookie));
    assertEquals(List.of(cookie().clearHeader()), logout.setCookies());
    assertTrue(isGone(idOf(setCookie)));
  }

  @Test
  void aRedirectCarriesTheCookieOfTheCommittedSession() throws Exception {
    Http.Response response = Http.send("POST", url("/redirect"), null);
    assertEquals(302, response.status());
    String id = idOf(response.setCookies().get(0));
    assertEquals("saved", Session.open(client(), id).getString("flash"));
  }

  @Test
  void attributesAreTypedAndObjectsAreJson() throws Exception {
    String setCookie = Http.send("POST", url("/cart"), null).setCookies().get(0);
    assertEquals(
        "LinkedHashMap [book, pen] byte[] 0.25 false",
        Http.send("GET", url("/cart"), back(setCookie)).body());
    Session stored = Session.open(client(), idOf(setCookie));
    assertEquals(9.5, stored.getJson("cart").get("total").asDouble());
    assertEquals(0.25, stored.getDouble("ratio"));
    assertEquals(false, stored.getBool("admin"));
    assertEquals(2, stored.getBytes("raw").length);
  }

  @Test
  void aConflictingCommitAnswers409AndStoresNothing() throws Exception {
    String setCookie = Http.send("POST", url("/visit"), null).setCookies().get(0);
    Http.Response response = Http.send("POST", url("/conflict"), back(setCookie));
    assertEquals(409, response.status());
    assertFalse(response.body().contains("written"), response.body());
    assertEquals(100L, Session.open(client(), idOf(setCookie)).getLong("visits"));
  }

  @Test
  void requestsWritingDifferentAttributesBothCommit() throws Exception {
    String setCookie = Http.send("POST", url("/visit"), null).setCookies().get(0);
    Http.Response response = Http.send("POST", url("/concurrent"), back(setCookie));
    assertEquals(200, response.status());
    Session stored = Session.open(client(), idOf(setCookie));
    assertEquals(7L, stored.getLong("visits"));
    assertEquals(100L, stored.getLong("other"));
  }
}
