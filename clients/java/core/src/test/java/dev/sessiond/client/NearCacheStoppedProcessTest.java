package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.testing.SessiondServer;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.DeleteRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Revocation against a stalled process: a child JVM ({@link NearCacheChild}) holds a session in its
 * near cache and is frozen with SIGSTOP; a Delete by this process still returns promptly, and the
 * child's first read after SIGCONT finds the session gone without any pause in between.
 */
@Timeout(60)
class NearCacheStoppedProcessTest {
  @Test
  void aStoppedProcessDoesNotServeADeletedSessionWhenItResumes() throws Exception {
    try (SessiondServer server = SessiondServer.start();
        Client client = Client.connect(server.address())) {
      String id =
          client.createSession(CreateSessionRequest.getDefaultInstance()).getSession().getId();
      String classpath =
          System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
      Process child =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  classpath,
                  NearCacheChild.class.getName(),
                  server.address(),
                  id)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      try (BufferedReader output =
              new BufferedReader(
                  new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
          Writer input = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8)) {
        assertEquals("cached", output.readLine());

        signal(child, "-STOP");
        Duration took;
        try {
          long started = System.nanoTime();
          client.delete(DeleteRequest.newBuilder().setId(id).build());
          took = Duration.ofNanos(System.nanoTime() - started);
          // The guarantee: one lease after Delete returned, no process serves the session. The
          // invalidation may sit unread in the stopped child's socket buffer; its lease, though,
          // lapses on the monotonic clock while it is stopped.
          Thread.sleep(NearCacheTest.LEASE_AND_MARGIN.toMillis());
        } finally {
          signal(child, "-CONT");
        }
        input.write("get\n");
        input.flush();

        assertEquals("NOT_FOUND", output.readLine());
        assertTrue(took.compareTo(Duration.ofSeconds(2)) < 0, "Delete took " + took);
      } finally {
        child.destroy();
        if (!child.waitFor(10, TimeUnit.SECONDS)) {
          child.destroyForcibly();
        }
      }
    }
  }

  private static void signal(Process process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).start();
    assertTrue(kill.waitFor(5, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill " + signal);
  }
}
