package dev.sessiond.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.SessionNotFoundException;
import dev.sessiond.client.testing.Http;
import dev.sessiond.client.testing.SessiondServer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The filter in a real Tomcat, driven by real HTTP requests, against a real sessiond. */
@Timeout(60)
class SessiondFilterTest {
  private static final SessionCookie COOKIE =
      SessionCookie.defaults().withSecrets(List.of("filter secret"));
  private static SessiondServer server;
  private static Client client;
  private static Tomcat tomcat;
  private static String base;

  /** A tiny app: each path does one thing with the session and prints what it saw. */
  static final class App extends HttpServlet {
    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      response.setContentType("text/plain");
      switch (request.getPathInfo() == null ? request.getServletPath() : request.getPathInfo()) {
        case "/read" -> {
          HttpSession session = request.getSession(false);
          Object visits = session == null ? null : session.getAttribute("visits");
          response
              .getWriter()
              .print(visits == null ? "none" : visits.getClass().getSimpleName() + " " + visits);
        }
        case "/visit" -> {
          HttpSession session = request.getSession();
          Object visits = session.getAttribute("visits");
          long next = visits == null ? 1 : (Long) visits + 1;
          session.setAttribute("visits", (int) next);
          response.getWriter().print(next);
        }
        case "/touch-only" -> request.getSession();
        case "/login" -> {
          request.getSession().setAttribute("user", request.getParameter("user"));
          response.getWriter().print(request.changeSessionId());
        }
        case "/logout" -> request.getSession().invalidate();
        case "/redirect" -> {
          request.getSession().setAttribute("flash", "saved");
          response.sendRedirect("/read");
        }
        case "/cart" -> {
          HttpSession session = request.getSession();
          if (request.getMethod().equals("POST")) {
            session.setAttribute("cart", Map.of("items", List.of("book", "pen"), "total", 9.5));
          } else {
            Object cart = session.getAttribute("cart");
            response
                .getWriter()
                .print(cart instanceof Map ? ((Map<?, ?>) cart).get("items") : cart);
          }
        }
        case "/conflict" -> {
          HttpSession session = request.getSession();
          session.getAttribute("visits");
          Session other = Session.open(client, session.getId());
          other.setLong("visits", 100);
          other.commit();
          session.setAttribute("visits", 7);
          response.getWriter().print("written");
        }
        default -> response.sendError(404);
      }
    }
  }

  @BeforeAll
  static void start() throws Exception {
    server = SessiondServer.start();
    client = Client.connect(server.address());
    tomcat = new Tomcat();
    tomcat.setBaseDir(Files.createTempDirectory("tomcat").toString());
    tomcat.setPort(0);
    tomcat.setHostname("127.0.0.1");
    tomcat.getConnector().setProperty("address", "127.0.0.1");
    Context context = tomcat.addContext("", null);
    Tomcat.addServlet(context, "app", new App());
    context.addServletMappingDecoded("/*", "app");
    FilterDef filter = new FilterDef();
    filter.setFilterName("sessiond");
    filter.setFilter(
        new SessiondFilter(
            client, COOKIE, new AttributeCodec(new ObjectMapper()), CreateOptions.defaults()));
    context.addFilterDef(filter);
    FilterMap mapping = new FilterMap();
    mapping.setFilterName("sessiond");
    mapping.addURLPattern("/*");
    context.addFilterMap(mapping);
    tomcat.start();
    base = "http://127.0.0.1:" + tomcat.getConnector().getLocalPort();
  }

  @AfterAll
  static void stop() throws Exception {
    tomcat.stop();
    tomcat.destroy();
    client.close();
    server.close();
  }

  private static String idOf(String setCookie) {
    return COOKIE.decode(Http.cookiePair(setCookie).substring("sessiond=".length())).orElseThrow();
  }

  @Test
  void aReadOnlyRequestCreatesNothingAndSendsNoCookie() throws Exception {
    Http.Response response = Http.send("GET", base + "/read", null);
    assertEquals("none", response.body());
    assertEquals(List.of(), response.setCookies());
    assertEquals(List.of(), Http.send("GET", base + "/touch-only", null).setCookies());
  }

  @Test
  void storingCreatesTheSessionAndSetsTheSignedCookieOnce() throws Exception {
    Http.Response first = Http.send("POST", base + "/visit", null);
    assertEquals("1", first.body());
    assertEquals(1, first.setCookies().size());
    String setCookie = first.setCookies().get(0);
    String id = idOf(setCookie);
    assertEquals(
        "sessiond=" + COOKIE.encode(id) + "; Path=/; HttpOnly; Secure; SameSite=Lax", setCookie);
    assertEquals(1L, Session.open(client, id).getLong("visits"));

    String cookie = Http.cookiePair(setCookie);
    Http.Response second = Http.send("POST", base + "/visit", cookie);
    assertEquals("2", second.body());
    assertEquals(List.of(), second.setCookies(), "an existing session sends no Set-Cookie");
    assertEquals("Long 2", Http.send("GET", base + "/read", cookie).body());
  }

  @Test
  void aSessionWrittenByAnotherTierReadsThroughTheCookie() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.setLong("visits", 41);
    other.commit();
    String cookie = "sessiond=" + COOKIE.encode(other.id());
    assertEquals("Long 41", Http.send("GET", base + "/read", cookie).body());
    assertEquals("42", Http.send("POST", base + "/visit", cookie).body());
    assertEquals(42L, Session.open(client, other.id()).getLong("visits"));
  }

  @Test
  void forgedOrUnsignedCookiesReadAsNoCookie() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.setLong("visits", 5);
    other.commit();
    for (String cookie :
        List.of(
            "sessiond=" + other.id(),
            "sessiond=" + other.id() + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "sessiond=garbage")) {
      Http.Response response = Http.send("GET", base + "/read", cookie);
      assertEquals("none", response.body(), cookie);
      assertEquals(List.of(), response.setCookies(), cookie);
    }
  }

  @Test
  void aGoneSessionReadsEmptyAndItsCookieIsCleared() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.delete();
    Http.Response response =
        Http.send("GET", base + "/read", "sessiond=" + COOKIE.encode(other.id()));
    assertEquals("none", response.body());
    assertEquals(List.of(COOKIE.clearHeader()), response.setCookies());
  }

  @Test
  void loginRotatesTheIdAndSendsTheNewCookie() throws Exception {
    String cookie = Http.cookiePair(Http.send("POST", base + "/visit", null).setCookies().get(0));
    String oldId = COOKIE.decode(cookie.substring("sessiond=".length())).orElseThrow();
    Http.Response login = Http.send("POST", base + "/login?user=ada", cookie);
    String newId = idOf(login.setCookies().get(0));
    assertNotEquals(oldId, newId);
    assertEquals(newId, login.body());
    Session rotated = Session.open(client, newId);
    assertEquals("ada", rotated.getString("user"));
    assertEquals(1L, rotated.getLong("visits"));
    assertTrue(isGone(oldId), "the old id is dead once the response is sent");
  }

  @Test
  void logoutDeletesTheSessionAndClearsTheCookie() throws Exception {
    String setCookie = Http.send("POST", base + "/visit", null).setCookies().get(0);
    Http.Response logout = Http.send("POST", base + "/logout", Http.cookiePair(setCookie));
    assertEquals(List.of(COOKIE.clearHeader()), logout.setCookies());
    assertTrue(isGone(idOf(setCookie)));
  }

  @Test
  void aRedirectCarriesTheCookieOfTheCommittedSession() throws Exception {
    Http.Response response = Http.send("POST", base + "/redirect", null);
    assertEquals(302, response.status());
    String id = idOf(response.setCookies().get(0));
    assertEquals("saved", Session.open(client, id).getString("flash"));
  }

  @Test
  void objectsAreStoredAsJsonAndReadBackAsMapsAndLists() throws Exception {
    String cookie = Http.cookiePair(Http.send("POST", base + "/cart", null).setCookies().get(0));
    assertEquals("[book, pen]", Http.send("GET", base + "/cart", cookie).body());
    String id = COOKIE.decode(cookie.substring("sessiond=".length())).orElseThrow();
    assertEquals(9.5, Session.open(client, id).getJson("cart").get("total").asDouble());
  }

  @Test
  void aConflictingCommitAnswers409AndStoresNothing() throws Exception {
    String cookie = Http.cookiePair(Http.send("POST", base + "/visit", null).setCookies().get(0));
    Http.Response response = Http.send("POST", base + "/conflict", cookie);
    assertEquals(409, response.status());
    assertFalse(response.body().contains("written"));
    String id = COOKIE.decode(cookie.substring("sessiond=".length())).orElseThrow();
    assertEquals(100L, Session.open(client, id).getLong("visits"));
  }

  private static boolean isGone(String id) {
    try {
      Session.open(client, id).load();
      return false;
    } catch (SessionNotFoundException e) {
      return true;
    }
  }
}
