package dev.sessiond.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.client.AttributeCodec;
import dev.sessiond.client.Client;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.testing.Http;
import dev.sessiond.client.testing.SessiondServer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
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
class SessiondFilterTest extends WebTierContract {
  private static final SessionCookie COOKIE =
      SessionCookie.defaults().withSecrets(List.of("filter secret"));
  private static SessiondServer server;
  private static Client client;
  private static Tomcat tomcat;
  private static String base;

  /** The app of {@link WebTierContract} as a plain servlet. */
  static final class App extends HttpServlet {
    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      response.setContentType("text/plain");
      boolean post = request.getMethod().equals("POST");
      switch (request.getPathInfo()) {
        case "/read" -> {
          HttpSession session = request.getSession(false);
          response
              .getWriter()
              .print(describeVisits(session == null ? null : session.getAttribute("visits")));
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
          if (post) {
            storeCart(session::setAttribute);
          } else {
            response.getWriter().print(describeCart(session::getAttribute));
          }
        }
        case "/conflict", "/concurrent" -> {
          writeBehindTheBack(client, request.getSession(), request.getPathInfo());
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

  @Override
  protected String url(String path) {
    return base + path;
  }

  @Override
  protected Client client() {
    return client;
  }

  @Override
  protected SessionCookie cookie() {
    return COOKIE;
  }

  @Override
  protected SessionCookie otherTierCookie() {
    return COOKIE;
  }

  @Test
  void aGoneSessionReadsEmptyAndItsCookieIsCleared() throws Exception {
    Session other = Session.create(client, CreateOptions.defaults());
    other.delete();
    Http.Response response =
        Http.send("GET", url("/read"), "sessiond=" + COOKIE.encode(other.id()));
    assertEquals("none", response.body());
    assertEquals(List.of(COOKIE.clearHeader()), response.setCookies());
  }
}
