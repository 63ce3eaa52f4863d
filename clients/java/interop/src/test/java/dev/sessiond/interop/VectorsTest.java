package dev.sessiond.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sessiond.client.CreateOptions;
import dev.sessiond.client.Session;
import dev.sessiond.client.testing.WithSessiond;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every vector of clients/testdata/values.json round-trips typed through a real sessiond. */
@Timeout(30)
class VectorsTest extends WithSessiond {
  private static final Path VALUES = Path.of("../../testdata/values.json");

  @Test
  void everyVectorReadsBackWithItsTypeAndValue() throws Exception {
    Vectors vectors = Vectors.read(VALUES);
    Session session = Session.startNew(client, CreateOptions.defaults());
    vectors.writeTo(session);
    session.commit();
    assertEquals(List.of(), vectors.mismatches(Session.open(client, session.id())));
  }

  @Test
  void aChangedValueOrTypeOrAnExtraKeyIsReported() throws Exception {
    Vectors vectors = Vectors.read(VALUES);
    Session session = Session.startNew(client, CreateOptions.defaults());
    vectors.writeTo(session);
    session.setString("int64/zero", "0");
    session.setDouble("double/negative-zero", 0.0);
    session.setString("extra", "x");
    session.commit();
    List<String> mismatches = vectors.mismatches(Session.open(client, session.id()));
    assertEquals(3, mismatches.size(), mismatches.toString());
    assertTrue(
        mismatches.get(0).startsWith("int64/zero: expected int64 0, got a value of another"));
  }

  @Test
  void theDriverWritesAndReadsTheVectors() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream stderr = new PrintStream(err, true, StandardCharsets.UTF_8);
    String[] write = {"write", VALUES.toString()};
    assertEquals(0, Driver.run(client, write, stdout, stderr), err.toString());
    String id = out.toString(StandardCharsets.UTF_8).trim();
    assertEquals(32, id.length());
    String[] read = {"read", VALUES.toString(), id};
    assertEquals(0, Driver.run(client, read, stdout, stderr), err.toString());
  }
}
