package dev.sessiond.examples.sharedlogin;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import java.net.URI;
import java.util.List;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.util.HtmlUtils;

/**
 * The Spring half of examples/shared-login: HttpSession kept in sessiond by Spring Session
 * (configuration only, application.properties), sharing the signed cookie "sessiond" with the
 * Express, Flask and Go apps (docs/COOKIES.md).
 *
 * <pre>
 * GET  /spring/        the user (string attribute "user") or "anonymous", and the cart (JSON
 *                      attribute "cart", a list of strings)
 * POST /spring/logout  invalidates the session (Delete, cookie cleared); 303 to /spring/
 * </pre>
 */
@SpringBootApplication
@RestController
public class SharedLoginApp {
  public static void main(String[] args) {
    SpringApplication.run(SharedLoginApp.class, args);
  }

  @GetMapping(value = "/spring/", produces = MediaType.TEXT_HTML_VALUE)
  String page(HttpServletRequest request) {
    HttpSession session = request.getSession(false);
    Object user = session == null ? null : session.getAttribute("user");
    Object cart = session == null ? null : session.getAttribute("cart");
    StringBuilder items = new StringBuilder();
    if (cart instanceof List<?> list) {
      for (Object item : list) {
        items.append("<li>").append(HtmlUtils.htmlEscape(String.valueOf(item))).append("</li>");
      }
    }
    return """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>Spring</title></head>
        <body>
        <p id="user">%s</p>
        <ul id="cart">%s</ul>
        <form method="post" action="/spring/logout"><button type="submit" id="logout">Log out</button></form>
        </body></html>
        """
        .formatted(
            HtmlUtils.htmlEscape(user instanceof String name ? name : "anonymous"), items);
  }

  @PostMapping("/spring/logout")
  ResponseEntity<Void> logout(HttpServletRequest request) {
    HttpSession session = request.getSession(false);
    if (session != null) {
      session.invalidate();
    }
    return ResponseEntity.status(HttpStatus.SEE_OTHER).location(URI.create("/spring/")).build();
  }
}
