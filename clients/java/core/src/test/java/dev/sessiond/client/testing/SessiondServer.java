package dev.sessiond.client.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real sessiond for tests: {@code $SESSIOND_BIN} started on a free loopback port with the memory
 * store, stopped by its pid (SIGTERM, then SIGKILL after 5 s) on {@link #close()}.
 */
public final class SessiondServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private final Process process;
  private final Path portFile;
  private final String address;

  private SessiondServer(Process process, Path portFile, String address) {
    this.process = process;
    this.portFile = portFile;
    this.address = address;
  }

  /** Starts sessiond with {@code extraFlags} and waits (bounded) until it has written its port. */
  public static SessiondServer start(String... extraFlags)
      throws IOException, InterruptedException {
    String binary = System.getenv("SESSIOND_BIN");
    if (binary == null || binary.isEmpty()) {
      throw new IllegalStateException("set SESSIOND_BIN to the sessiond binary (test.sh does)");
    }
    Path portFile = Files.createTempFile("sessiond-port", ".txt");
    Files.delete(portFile);
    List<String> command = new ArrayList<>();
    command.add(binary);
    command.add("--listen=127.0.0.1:0");
    command.add("--port_file=" + portFile);
    command.add("--store=memory");
    command.add("--drain_grace=0s");
    command.addAll(List.of(extraFlags));
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      if (Files.exists(portFile)) {
        String port = Files.readString(portFile, StandardCharsets.UTF_8).trim();
        if (!port.isEmpty()) {
          return new SessiondServer(process, portFile, "127.0.0.1:" + port);
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException("sessiond exited with " + process.exitValue());
      }
      Thread.sleep(20);
    }
    process.destroyForcibly();
    throw new IllegalStateException("sessiond wrote no port within " + START_TIMEOUT);
  }

  /** The address to connect to: "127.0.0.1:PORT". */
  public String address() {
    return address;
  }

  /** Stops sessiond: SIGTERM, SIGKILL if it has not exited after 5 s. */
  @Override
  public void close() throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    Files.deleteIfExists(portFile);
  }
}
