package dev.sessiond.client.testing;

import dev.sessiond.client.Client;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** A base for test classes that share one real sessiond and one client of it. */
public abstract class WithSessiond {
  private static SessiondServer server;

  /** The client of the class's sessiond. */
  protected static Client client;

  @BeforeAll
  static void startSessiond() throws Exception {
    server = SessiondServer.start();
    client = Client.connect(server.address());
  }

  @AfterAll
  static void stopSessiond() throws Exception {
    client.close();
    server.close();
  }
}
