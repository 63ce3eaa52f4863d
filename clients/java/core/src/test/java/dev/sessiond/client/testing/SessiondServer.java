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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real sessiond for tests: {@code $SESSIOND_BIN} started on a free loopback port with the memory
 * store, stopped by its pid (SIGTERM, then SIGKILL after 5 s) on {@link #close()}. Started with
 * {@link #startWithMetrics}, it also serves /metrics on a free loopback port, which {@link #rpcs}
 * reads.
 */
public final class SessiondServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
  private static final Pattern METRICS_PORT = Pattern.compile("metrics_port=(\\d+)");
  private final Process process;
  private final Path portFile;
  private final String address;
  private final Path log; // stderr when metrics are served, else null
  private final String metricsUrl; // null without metrics

  private SessiondServer(
      Process process, Path portFile, String address, Path log, String metricsUrl) {
    this.process = process;
    this.portFile = portFile;
    this.address = address;
    this.log = log;
    this.metricsUrl = metricsUrl;
  }

  /** Starts sessiond with {@code extraFlags} and waits (bounded) until it has written its port. */
  public static SessiondServer start(String... extraFlags)
      throws IOException, InterruptedException {
    return launch(null, extraFlags);
  }

  /**
   * Starts sessiond with {@code extraFlags} and /metrics on a free loopback port, whose number it
   * reads from sessiond's startup log line.
   */
  public static SessiondServer startWithMetrics(String... extraFlags)
      throws IOException, InterruptedException {
    return launch(Files.createTempFile("sessiond-log", ".txt"), extraFlags);
  }

  /** Starts sessiond; with a {@code log}, its stderr goes there and metrics are served. */
  private static SessiondServer launch(Path log, String... extraFlags)
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
    if (log != null) {
      command.add("--metrics_listen=127.0.0.1:0");
    }
    command.addAll(List.of(extraFlags));
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(
                log == null
                    ? ProcessBuilder.Redirect.INHERIT
                    : ProcessBuilder.Redirect.to(log.toFile()))
            .start();
    Instant deadline = Instant.now().plus(START_TIMEOUT);
    while (Instant.now().isBefore(deadline)) {
      String port =
          Files.exists(portFile) ? Files.readString(portFile, StandardCharsets.UTF_8).trim() : "";
      Matcher metrics =
          METRICS_PORT.matcher(log == null ? "" : Files.readString(log, StandardCharsets.UTF_8));
      if (!port.isEmpty() && (log == null || metrics.find())) {
        String metricsUrl =
            log == null ? null : "http://127.0.0.1:" + metrics.group(1) + "/metrics";
        return new SessiondServer(process, portFile, "127.0.0.1:" + port, log, metricsUrl);
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

  /**
   * How many rpcs of {@code method} (e.g. "Batch") sessiond finished, with any code, from its
   * /metrics page ({@code sessiond_rpcs_total}). Only for a server started with metrics.
   */
  public long rpcs(String method) throws IOException, InterruptedException {
    String label = "method=\"/sessiond.v1.SessionService/" + method + "\"";
    long total = 0;
    for (String line : Http.send("GET", metricsUrl, null).body().split("\n")) {
      if (line.startsWith("sessiond_rpcs_total{") && line.contains(label)) {
        total += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /** Freezes sessiond (SIGSTOP): calls to it stay unanswered until {@link #resume()}. */
  public void pause() throws IOException, InterruptedException {
    signal("-STOP");
  }

  /** Lets a paused sessiond run again (SIGCONT). */
  public void resume() throws IOException, InterruptedException {
    signal("-CONT");
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", name, Long.toString(process.pid())).start();
    if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill " + name + " " + process.pid() + " failed");
    }
  }

  /** Stops sessiond: SIGTERM, SIGKILL if it has not exited after 5 s (or is paused). */
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
    if (log != null) {
      Files.deleteIfExists(log);
    }
  }
}
