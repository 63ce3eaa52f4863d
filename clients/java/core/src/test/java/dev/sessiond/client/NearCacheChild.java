package dev.sessiond.client;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The child process of {@link NearCacheStoppedProcessTest}: a client with a near cache of sessiond
 * at args[0] reads session args[1] until it is cached and prints "cached"; then, for every line
 * "get" on stdin, reads it once at once and prints "found" or "NOT_FOUND". Ends at end of input.
 */
public final class NearCacheChild {
  private NearCacheChild() {}

  /** Runs the child: {@code args} are sessiond's address and the session id. */
  public static void main(String[] args) throws Exception {
    try (Client client =
            Client.connect(
                args[0],
                // A cold JVM on a loaded machine may take seconds to connect and load classes.
                ClientOptions.defaults()
                    .withNearCache(1 << 20)
                    .withTimeout(Duration.ofSeconds(10)));
        BufferedReader input =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      NearCacheTest.readUntilCached(client, args[1]);
      System.out.println("cached");
      System.out.flush();
      for (String line = input.readLine(); line != null; line = input.readLine()) {
        try {
          NearCacheTest.get(client, args[1]);
          System.out.println("found");
        } catch (SessionNotFoundException e) {
          System.out.println("NOT_FOUND");
        }
        System.out.flush();
      }
    }
  }
}
