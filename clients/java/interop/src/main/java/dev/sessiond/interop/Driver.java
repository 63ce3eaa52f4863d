package dev.sessiond.interop;

import dev.sessiond.client.Client;
import dev.sessiond.client.ConflictException;
import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The Java driver of the cross-language matrix: the commands of {@code tests/interop/README.md}
 * ({@code write}, {@code read}, {@code commit-after-go}) against sessiond at {@code
 * $SESSIOND_ADDR}, through the public {@link Session} API only.
 */
public final class Driver {
  private Driver() {}

  /** Runs one command and exits 0, or 1 with the error on stderr. */
  public static void main(String[] args) {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(System.err, true, StandardCharsets.UTF_8);
    String address = System.getenv("SESSIOND_ADDR");
    if (address == null || address.isEmpty()) {
      err.println("SESSIOND_ADDR is not set");
      System.exit(1);
    }
    int status;
    try (Client client = Client.connect(address)) {
      status = run(client, args, out, err);
    } catch (RuntimeException | IOException e) {
      err.println(e.getMessage());
      status = 1;
    }
    System.exit(status);
  }

  /** Runs the command {@code args} with {@code client}; returns the exit status. */
  static int run(Client client, String[] args, PrintStream out, PrintStream err)
      throws IOException {
    String command = args.length == 0 ? "" : args[0];
    switch (command) {
      case "write" -> {
        requireArgs(args, 2);
        Session session = Session.startNew(client, CreateOptions.defaults());
        Vectors.read(Path.of(args[1])).writeTo(session);
        session.commit();
        out.println(session.id());
        return 0;
      }
      case "read" -> {
        requireArgs(args, 3);
        List<String> mismatches =
            Vectors.read(Path.of(args[1])).mismatches(Session.open(client, args[2]));
        mismatches.forEach(err::println);
        return mismatches.isEmpty() ? 0 : 1;
      }
      case "commit-after-go" -> {
        requireArgs(args, 4);
        return commitAfterGo(client, args[1], args[2], args[3], out);
      }
      default -> {
        err.println("usage: driver write VECTORS | read VECTORS ID | commit-after-go ID KEY VALUE");
        return 1;
      }
    }
  }

  private static int commitAfterGo(
      Client client, String id, String key, String value, PrintStream out) throws IOException {
    Session session = Session.open(client, id);
    session.load();
    out.println("loaded " + session.info().getVersion());
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); !"go".equals(line); line = in.readLine()) {
      if (line == null) {
        throw new IOException("stdin closed before a line \"go\"");
      }
    }
    session.setString(key, value);
    try {
      session.commit();
      out.println("committed " + session.info().getVersion());
    } catch (ConflictException conflict) {
      out.println("conflict " + String.join(",", conflict.conflictingKeys()));
    }
    return 0;
  }

  private static void requireArgs(String[] args, int count) {
    if (args.length != count) {
      throw new IllegalArgumentException(
          args[0] + " takes " + (count - 1) + " arguments, got " + (args.length - 1));
    }
  }
}
