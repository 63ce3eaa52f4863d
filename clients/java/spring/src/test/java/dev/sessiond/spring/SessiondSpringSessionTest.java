package dev.sessiond.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.testing.Http;
import dev.sessiond.client.testing.SessiondServer;
import dev.sessiond.servlet.SessionCookie;
import dev.sessiond.servlet.WebTierContract;
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
 * requests against a real sessiond. Its cookie signs with "new secret" and still verifies "shared
 * secret", what an Express or Flask tier sharing the login signs with.
 */
@SpringBootTest(
    classes = TestApp.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {"sessiond.cookie.secrets=new secret,shared secret"})
@Timeout(60)
class SessiondSpringSessionTest extends WebTierContract {
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

  @Override
  protected String url(String path) {
    return "http://127.0.0.1:" + port + path;
  }

  @Override
  protected Client client() {
    return client;
  }

  @Override
  protected SessionCookie cookie() {
    return SessionCookie.defaults().withSecrets(List.of("new secret"));
  }

  @Override
  protected SessionCookie otherTierCookie() {
    return SessionCookie.defaults().withSecrets(List.of("shared secret"));
  }

  /** The near cache's bound the app's client should have: the default, 16 MiB. */
  protected long expectedNearCacheBytes() {
    return 16L << 20;
  }

  @Test
  void theClientsNearCacheIsAsConfigured() {
    assertEquals(expectedNearCacheBytes(), client.options().nearCacheMaxBytes());
  }

  @Test
  void repeatedReadsOfASessionAreServedByTheNearCacheOnlyWhenItIsOn() throws Exception {
    String setCookie = Http.send("POST", url("/visit"), null).setCookies().get(0);
    long hits = client.nearCacheStats().hits();
    // The first reads may come before the stream's first lease; the bound is generous for CI.
    for (int i = 0; i < 50 && client.nearCacheStats().hits() == hits; i++) {
      assertEquals("Long 1", Http.send("GET", url("/read"), back(setCookie)).body());
    }
    assertEquals(expectedNearCacheBytes() > 0, client.nearCacheStats().hits() > hits);
  }

  @Test
  void theRepositoryIsSessiondsByConfigurationAlone() {
    assertTrue(repository instanceof SessiondSessionRepository);
  }

  @Test
  void theRepositoryFindsNothingForAGoneSession() {
    Session other = Session.create(client, CreateOptions.defaults());
    other.delete();
    assertNull(repository.findById(other.id()));
    assertTrue(isGone(other.id()));
  }

  @Test
  void aGoneSessionReadsEmptyAndItsCookieIsClearedOnceTheHandlerGetsASession() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.delete();
    String cookie = "sessiond=" + cookie().encode(other.id());
    Http.Response read = Http.send("GET", url("/read"), cookie);
    assertEquals("none", read.body());
    assertEquals(List.of(), read.setCookies(), "Spring Session asks for no cookie here (a limit)");
    Http.Response touched = Http.send("GET", url("/touch-only"), cookie);
    assertEquals(List.of(cookie().clearHeader()), touched.setCookies());
  }

  @Test
  void aSpringSecurityLoginSticksAcrossRequests() throws Exception {
    Http.Response login = Http.send("POST", url("/security-login?user=ada"), null);
    assertEquals(200, login.status());
    String setCookie = login.setCookies().get(login.setCookies().size() - 1);
    assertEquals(login.body(), idOf(setCookie));
    assertEquals("ada [ROLE_USER]", Http.send("GET", url("/whoami"), back(setCookie)).body());
    assertTrue(
        Session.open(client, idOf(setCookie))
            .getJson("SPRING_SECURITY_CONTEXT")
            .get("authentication")
            .get("principal")
            .asText()
            .equals("ada"),
        "other tiers read the context as JSON");
    assertEquals("anonymousUser [ROLE_ANONYMOUS]", Http.send("GET", url("/whoami"), null).body());
  }
}
