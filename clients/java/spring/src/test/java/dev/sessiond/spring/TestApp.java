package dev.sessiond.spring;

import dev.sessiond.client.Client;
import dev.sessiond.servlet.WebTierContract;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.util.List;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.view.RedirectView;

/**
 * The app of {@link WebTierContract} in Spring Boot, using HttpSession as any app would; sessiond
 * is configuration only.
 */
@SpringBootApplication
@RestController
public class TestApp {
  private final Client client;

  TestApp(Client client) {
    this.client = client;
  }

  @GetMapping("/read")
  String read(HttpServletRequest request) {
    HttpSession session = request.getSession(false);
    return WebTierContract.describeVisits(session == null ? null : session.getAttribute("visits"));
  }

  @PostMapping("/visit")
  String visit(HttpSession session) {
    Object visits = session.getAttribute("visits");
    long next = visits == null ? 1 : (Long) visits + 1;
    session.setAttribute("visits", (int) next);
    return Long.toString(next);
  }

  @GetMapping("/touch-only")
  String touchOnly(HttpSession session) {
    return session.isNew() ? "new" : "old";
  }

  @PostMapping("/login")
  String login(HttpServletRequest request, @RequestParam String user) {
    request.getSession().setAttribute("user", user);
    return request.changeSessionId();
  }

  @PostMapping("/logout")
  String logout(HttpSession session) {
    session.invalidate();
    return "bye";
  }

  @PostMapping("/redirect")
  RedirectView redirect(HttpSession session) {
    session.setAttribute("flash", "saved");
    return new RedirectView("/read");
  }

  @PostMapping("/cart")
  String storeCart(HttpSession session) {
    WebTierContract.storeCart(session::setAttribute);
    return "stored";
  }

  @GetMapping("/cart")
  String readCart(HttpSession session) {
    return WebTierContract.describeCart(session::getAttribute);
  }

  @PostMapping({"/conflict", "/concurrent"})
  String writeBehindTheBack(HttpServletRequest request, HttpSession session) {
    WebTierContract.writeBehindTheBack(client, session, request.getServletPath());
    return "written";
  }

  /** No authentication required anywhere: these tests log in through /security-login. */
  @Bean
  SecurityFilterChain openChain(HttpSecurity http) throws Exception {
    return http.authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
        .csrf(csrf -> csrf.disable())
        .build();
  }

  /** Logs {@code user} in as Spring Security's form login would: saves the context, rotates. */
  @PostMapping("/security-login")
  String securityLogin(
      HttpServletRequest request, HttpServletResponse response, @RequestParam String user) {
    SecurityContext context = SecurityContextHolder.createEmptyContext();
    context.setAuthentication(
        UsernamePasswordAuthenticationToken.authenticated(
            user, null, List.of(new SimpleGrantedAuthority("ROLE_USER"))));
    new HttpSessionSecurityContextRepository().saveContext(context, request, response);
    return request.changeSessionId();
  }

  @GetMapping("/whoami")
  String whoami() {
    Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
    return authentication.getName() + " " + authentication.getAuthorities();
  }
}
