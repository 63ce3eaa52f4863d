package dev.sessiond.interop;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.client.Session;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The typed test vectors of {@code clients/testdata/values.json} (encoding in its README): writes
 * each with the typed setter of its type and checks each through the typed getter of its type.
 */
public final class Vectors {
  private final List<JsonNode> vectors;

  private Vectors(List<JsonNode> vectors) {
    this.vectors = vectors;
  }

  /** The vectors of the file at {@code path}. */
  public static Vectors read(Path path) throws IOException {
    List<JsonNode> vectors = new ArrayList<>();
    new ObjectMapper().readTree(path.toFile()).get("vectors").forEach(vectors::add);
    return new Vectors(vectors);
  }

  /** Records every vector in {@code session} with the setter of its type (commit not included). */
  public void writeTo(Session session) {
    for (JsonNode vector : vectors) {
      String key = vector.get("key").asText();
      switch (vector.get("type").asText()) {
        case "string" -> session.setString(key, vector.get("value").asText());
        case "int64" -> session.setLong(key, Long.parseLong(vector.get("value").asText()));
        case "double" -> session.setDouble(key, doubleOf(vector));
        case "bool" -> session.setBool(key, vector.get("value").asBoolean());
        case "bytes" -> session.setBytes(key, bytesOf(vector));
        case "json" -> session.setJson(key, vector.get("value"));
        default -> throw new IllegalArgumentException(key + ": unknown type " + vector.get("type"));
      }
    }
  }

  /**
   * One line per difference between {@code session} and the vectors ({@code key: expected ..., got
   * ...}), including keys the session has that no vector names; empty if they match exactly.
   */
  public List<String> mismatches(Session session) {
    List<String> mismatches = new ArrayList<>();
    TreeSet<String> unexpected = new TreeSet<>(session.keys());
    for (JsonNode vector : vectors) {
      String key = vector.get("key").asText();
      unexpected.remove(key);
      String type = vector.get("type").asText();
      Object expected;
      Object actual;
      boolean same;
      switch (type) {
        case "string" -> {
          expected = vector.get("value").asText();
          actual = session.getString(key);
          same = expected.equals(actual);
        }
        case "int64" -> {
          expected = Long.parseLong(vector.get("value").asText());
          actual = session.getLong(key);
          same = expected.equals(actual);
        }
        case "double" -> {
          double want = doubleOf(vector);
          Double got = session.getDouble(key);
          expected = describe(want);
          actual = got == null ? null : describe(got);
          same =
              got != null
                  && (Double.doubleToRawLongBits(want) == Double.doubleToRawLongBits(got)
                      || (Double.isNaN(want) && Double.isNaN(got)));
        }
        case "bool" -> {
          expected = vector.get("value").asBoolean();
          actual = session.getBool(key);
          same = expected.equals(actual);
        }
        case "bytes" -> {
          byte[] want = bytesOf(vector);
          byte[] got = session.getBytes(key);
          expected = "base64 " + Base64.getEncoder().encodeToString(want);
          actual = got == null ? null : "base64 " + Base64.getEncoder().encodeToString(got);
          same = Arrays.equals(want, got);
        }
        case "json" -> {
          expected = vector.get("value");
          actual = session.getJson(key);
          same = expected.equals(actual);
        }
        default -> throw new IllegalArgumentException(key + ": unknown type " + type);
      }
      if (!same) {
        mismatches.add(
            key
                + ": expected "
                + type
                + " "
                + expected
                + ", got "
                + describe(session, key, actual));
      }
    }
    for (String key : unexpected) {
      mismatches.add(key + ": expected no such key, got " + session.getValue(key));
    }
    return mismatches;
  }

  private static String describe(Session session, String key, Object typed) {
    if (typed != null) {
      return Objects.toString(typed);
    }
    var value = session.getValue(key);
    return value == null ? "no such key" : "a value of another type: " + value.getKindCase();
  }

  private static String describe(double value) {
    return value + " (bits " + HexFormat.of().toHexDigits(Double.doubleToRawLongBits(value)) + ")";
  }

  private static double doubleOf(JsonNode vector) {
    return Double.longBitsToDouble(Long.parseUnsignedLong(vector.get("bits").asText(), 16));
  }

  private static byte[] bytesOf(JsonNode vector) {
    return Base64.getDecoder().decode(vector.get("base64").asText());
  }
}
