package dev.sessiond.client.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** Real HTTP requests to a web app under test, with the Cookie header the test chooses. */
public final class Http {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private Http() {}

  /** What came back: the status, the body and every Set-Cookie header in order. */
  public record Response(int status, String body, List<String> setCookies) {}

  /**
   * Sends {@code method} to {@code url} with {@code cookie} as the Cookie header (none if null) and
   * an empty body; waits at most 10 s.
   */
  public static Response send(String method, String url, String cookie)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(10))
            .method(method, HttpRequest.BodyPublishers.noBody());
    if (cookie != null) {
      request.header("Cookie", cookie);
    }
    HttpResponse<String> response =
        CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Response(
        response.statusCode(), response.body(), response.headers().allValues("Set-Cookie"));
  }

  /** The name=value part of a Set-Cookie header, to send back as a Cookie header. */
  public static String cookiePair(String setCookie) {
    return setCookie.substring(0, setCookie.indexOf(';'));
  }
}
