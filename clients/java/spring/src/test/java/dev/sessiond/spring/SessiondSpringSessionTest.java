package dev.sessiond.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.SessionNotFoundException;
import dev.sessiond.client.testing.Http;
import dev.sessiond.client.testing.SessiondServer;
import dev.sessiond.servlet.SessionCookie;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.session.SessionRepository;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A real Spring Boot app on a random port, configured only by properties, driven by real HTTP
 * requests against a real sessiond.
 */
@SpringBootTest(
    classes = TestApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"sessiond.cookie.secrets=new secret,shared secret"})
@Timeout(60)
class SessiondSpringSessionTest {
  // What an Express or Flask tier configured with the secret "shared secret" writes and reads.
  private static final SessionCookie OTHER_TIER =
      SessionCookie.defaults().withSecrets(List.of("shared secret"));
  private static final SessionCookie THIS_TIER =
      SessionCookie.defaults().withSecrets(List.of("new secret"));
  private static SessiondServer server;

  @LocalServerPort int port;
  @Autowired Client client;
  @Autowired SessionRepository<?> repository;

  @DynamicPropertySource
  static void sessiond(DynamicPropertyRegistry registry) throws Exception {
    server = SessiondServer.start();
    registry.add("sessiond.address", server::address);
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private String url(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  private static String idOf(String setCookie) {
    return THIS_TIER
        .decode(Http.cookiePair(setCookie).substring("sessiond=".length()))
        .orElseThrow();
  }

  private boolean isGone(String id) {
    try {
      Session.open(client, id).load();
      return false;
    } catch (SessionNotFoundException e) {
      return true;
    }
  }

  @Test
  void theRepositoryIsSessiondsByConfigurationAlone() {
    assertTrue(repository instanceof SessiondSessionRepository);
  }

  @Test
  void aReadOnlyRequestCreatesNothingAndSendsNoCookie() throws Exception {
    Http.Response read = Http.send("GET", url("/read"), null);
    assertEquals("none", read.body());
    assertEquals(List.of(), read.setCookies());
    Http.Response touched = Http.send("GET", url("/touch-only"), null);
    assertEquals("new", touched.body());
    assertEquals(List.of(), touched.setCookies(), "a new session holding nothing is not created");
  }

  @Test
  void storingCreatesTheSessionAndSetsTheSpecCookieOnce() throws Exception {
    Http.Response first = Http.send("POST", url("/visit"), null);
    assertEquals("1", first.body());
    assertEquals(1, first.setCookies().size());
    String setCookie = first.setCookies().get(0);
    String id = idOf(setCookie);
    assertEquals(
        "sessiond=" + THIS_TIER.encode(id) + "; Path=/; HttpOnly; Secure; SameSite=Lax", setCookie);
    assertEquals(1L, Session.open(client, id).getLong("visits"));

    String cookie = Http.cookiePair(setCookie);
    Http.Response second = Http.send("POST", url("/visit"), cookie);
    assertEquals("2", second.body());
    assertEquals(List.of(), second.setCookies(), "an existing session sends no Set-Cookie");
    assertEquals("Long 2", Http.send("GET", url("/read"), cookie).body());
  }

  @Test
  void aLoginFromAnotherTierIsShared() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.setLong("visits", 41);
    other.commit();
    String cookie = "sessiond=" + OTHER_TIER.encode(other.id());
    assertEquals("Long 41", Http.send("GET", url("/read"), cookie).body());
    Http.Response visit = Http.send("POST", url("/visit"), cookie);
    assertEquals("42", visit.body());
    assertEquals(List.of(), visit.setCookies());
    assertEquals(42L, Session.open(client, other.id()).getLong("visits"));
  }

  @Test
  void forgedOrForeignCookiesReadAsNoCookie() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.setLong("visits", 5);
    other.commit();
    String springDefault =
        java.util.Base64.getEncoder().encodeToString(other.id().getBytes("US-ASCII"));
    for (String cookie :
        List.of(
            "sessiond=" + other.id(),
            "sessiond=" + SessionCookie.defaults().withSecrets(List.of("x")).encode(other.id()),
            "sessiond=" + springDefault,
            "SESSION=" + springDefault)) {
      Http.Response response = Http.send("GET", url("/read"), cookie);
      assertEquals("none", response.body(), cookie);
      assertEquals(List.of(), response.setCookies(), cookie);
    }
  }

  @Test
  void loginRotatesTheIdAndSendsTheNewCookie() throws Exception {
    String first = Http.send("POST", url("/visit"), null).setCookies().get(0);
    String oldId = idOf(first);
    Http.Response login = Http.send("POST", url("/login?user=ada"), Http.cookiePair(first));
    assertEquals(1, login.setCookies().size());
    String newId = idOf(login.setCookies().get(0));
    assertNotEquals(oldId, newId);
    assertEquals(newId, login.body());
    Session rotated = Session.open(client, newId);
    assertEquals("ada", rotated.getString("user"));
    assertEquals(1L, rotated.getLong("visits"));
    assertTrue(isGone(oldId));
  }

  @Test
  void logoutDeletesTheSessionAndClearsTheCookie() throws Exception {
    String setCookie = Http.send("POST", url("/visit"), null).setCookies().get(0);
    Http.Response logout = Http.send("POST", url("/logout"), Http.cookiePair(setCookie));
    assertEquals(List.of(THIS_TIER.clearHeader()), logout.setCookies());
    assertTrue(isGone(idOf(setCookie)));
  }

  @Test
  void aRedirectCarriesTheCookieOfTheCommittedSession() throws Exception {
    Http.Response response = Http.send("POST", url("/redirect"), null);
    assertEquals(302, response.status());
    String id = idOf(response.setCookies().get(0));
    assertEquals("saved", Session.open(client, id).getString("flash"));
  }

  @Test
  void attributesAreTypedAndObjectsAreJson() throws Exception {
    String cookie = Http.cookiePair(Http.send("POST", url("/cart"), null).setCookies().get(0));
    assertEquals(
        "LinkedHashMap [book, pen] byte[] 0.25 false",
        Http.send("GET", url("/cart"), cookie).body());
    Session stored = Session.open(client, THIS_TIER.decode(cookie.substring(9)).orElseThrow());
    assertEquals(9.5, stored.getJson("cart").get("total").asDouble());
    assertEquals(0.25, stored.getDouble("ratio"));
    assertEquals(false, stored.getBool("admin"));
    assertEquals(2, stored.getBytes("raw").length);
  }

  @Test
  void aConflictingSaveFailsTheRequestAndStoresNothing() throws Exception {
    String cookie = Http.cookiePair(Http.send("POST", url("/visit"), null).setCookies().get(0));
    Http.Response response = Http.send("POST", url("/conflict"), cookie);
    assertTrue(response.status() >= 400, "status " + response.status());
    assertFalse(response.body().contains("written"), response.body());
    String id = THIS_TIER.decode(cookie.substring(9)).orElseThrow();
    assertEquals(100L, Session.open(client, id).getLong("visits"));
  }

  @Test
  void theRepositoryFindsNothingForAGoneSession() {
    Session other = Session.create(client, CreateOptions.defaults());
    other.delete();
    assertEquals(null, repository.findById(other.id()));
    assertThrows(SessionNotFoundException.class, () -> Session.open(client, other.id()).load());
  }
}
