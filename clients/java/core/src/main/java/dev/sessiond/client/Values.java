package dev.sessiond.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.sessiond.v1.Value;

/**
 * Builds and reads typed {@link Value}s. JSON values are written and parsed with Jackson; {@link
 * #json(Object)} serializes any object Jackson can (maps, lists, records, beans, {@link
 * JsonNode}s).
 */
public final class Values {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Values() {}

  /** A string_value. */
  public static Value string(String value) {
    return Value.newBuilder().setStringValue(value).build();
  }

  /** A bytes_value (copied). */
  public static Value bytes(byte[] value) {
    return Value.newBuilder().setBytesValue(ByteString.copyFrom(value)).build();
  }

  /** An int64_value. */
  public static Value int64(long value) {
    return Value.newBuilder().setInt64Value(value).build();
  }

  /** A double_value. */
  public static Value float64(double value) {
    return Value.newBuilder().setDoubleValue(value).build();
  }

  /** A bool_value. */
  public static Value bool(boolean value) {
    return Value.newBuilder().setBoolValue(value).build();
  }

  /** A json_value holding {@code value} serialized by Jackson (null: the JSON {@code null}). */
  public static Value json(Object value) {
    try {
      return jsonText(MAPPER.writeValueAsString(value));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot serialize to JSON: " + e.getMessage(), e);
    }
  }

  /** A json_value holding {@code text} as it is; the caller vouches that it is JSON. */
  public static Value jsonText(String text) {
    return Value.newBuilder().setJsonValue(text).build();
  }

  /**
   * The document of a json_value parsed as a tree; JSON {@code null} is a NullNode.
   *
   * @throws IllegalStateException if the stored text is not JSON
   */
  public static JsonNode parseJson(Value value) {
    try {
      return MAPPER.readTree(value.getJsonValue());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the stored json_value is not JSON: " + e.getMessage(), e);
    }
  }

  /**
   * The document of a json_value read into {@code type} by Jackson.
   *
   * @throws IllegalStateException if the stored text is not JSON or does not fit {@code type}
   */
  public static <T> T parseJson(Value value, Class<T> type) {
    try {
      return MAPPER.readValue(value.getJsonValue(), type);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "the stored json_value does not read as " + type.getName() + ": " + e.getMessage(), e);
    }
  }
}
