package dev.sessiond.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.v1.Value;
import java.util.HashMap;
import java.util.Map;

/**
 * Maps framework session attributes (Java objects) to typed sessiond values and back, as
 * docs/COOKIES.md's table says, so that every language reads what Java wrote:
 *
 * <ul>
 *   <li>{@code String} ↔ string_value; {@code byte[]} ↔ bytes_value; {@code Boolean} ↔ bool_value;
 *   <li>{@code Integer}, {@code Long}, {@code Short}, {@code Byte} → int64_value, which reads back
 *       as a {@code Long};
 *   <li>{@code Double}, {@code Float} → double_value, which reads back as a {@code Double};
 *   <li>anything else → json_value, serialized by Jackson (never Java serialization). It reads back
 *       into the type registered for the attribute's name with {@link #withJsonType}, else as
 *       Jackson reads untyped JSON: {@code Map} (LinkedHashMap), {@code List} (ArrayList), {@code
 *       String}, {@code Integer}/{@code Long}/{@code BigInteger}, {@code Double}, {@code Boolean}
 *       or null.
 * </ul>
 *
 * Immutable and thread-safe.
 */
public final class AttributeCodec {
  // How one attribute's JSON is written and read.
  private record JsonType(Class<?> type, ObjectMapper mapper) {}

  private final ObjectMapper mapper;
  private final Map<String, JsonType> jsonTypes;

  /** A codec whose JSON goes through {@code mapper} (for example the application's own). */
  public AttributeCodec(ObjectMapper mapper) {
    this(mapper, Map.of());
  }

  private AttributeCodec(ObjectMapper mapper, Map<String, JsonType> jsonTypes) {
    this.mapper = mapper;
    this.jsonTypes = Map.copyOf(jsonTypes);
  }

  /** This codec, reading the JSON value of attribute {@code name} into {@code type}. */
  public AttributeCodec withJsonType(String name, Class<?> type) {
    return withJsonType(name, type, mapper);
  }

  /**
   * This codec, writing the JSON value of attribute {@code name} with {@code typeMapper} and
   * reading it into {@code type} with the same (for types that need a mapper of their own).
   */
  public AttributeCodec withJsonType(String name, Class<?> type, ObjectMapper typeMapper) {
    Map<String, JsonType> types = new HashMap<>(jsonTypes);
    types.put(name, new JsonType(type, typeMapper));
    return new AttributeCodec(mapper, types);
  }

  /** The attribute {@code name} of {@code session} as {@link #decode} reads it; null if absent. */
  public Object get(Session session, String name) {
    return decode(name, session.getValue(name));
  }

  /** Records attribute {@code name} = {@code attribute} in {@code session}; null removes it. */
  public void set(Session session, String name, Object attribute) {
    if (attribute == null) {
      session.remove(name);
    } else {
      session.setValue(name, encode(name, attribute));
    }
  }

  /** The typed value for attribute {@code name} = {@code attribute}, which must not be null. */
  public Value encode(String name, Object attribute) {
    if (attribute instanceof String text) {
      return Values.string(text);
    }
    if (attribute instanceof Integer
        || attribute instanceof Long
        || attribute instanceof Short
        || attribute instanceof Byte) {
      return Values.int64(((Number) attribute).longValue());
    }
    if (attribute instanceof Double || attribute instanceof Float) {
      return Values.float64(((Number) attribute).doubleValue());
    }
    if (attribute instanceof Boolean flag) {
      return Values.bool(flag);
    }
    if (attribute instanceof byte[] bytes) {
      return Values.bytes(bytes);
    }
    JsonType jsonType = jsonTypes.get(name);
    try {
      return Values.jsonText(
          (jsonType == null ? mapper : jsonType.mapper()).writeValueAsString(attribute));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "cannot store a " + attribute.getClass().getName() + " as JSON: " + e.getMessage(), e);
    }
  }

  /**
   * The attribute {@code name} holding {@code value} reads as; null for a null value or JSON null.
   *
   * @throws IllegalStateException if a json_value is not JSON or does not fit its registered type
   */
  public Object decode(String name, Value value) {
    if (value == null) {
      return null;
    }
    return switch (value.getKindCase()) {
      case STRING_VALUE -> value.getStringValue();
      case BYTES_VALUE -> value.getBytesValue().toByteArray();
      case INT64_VALUE -> value.getInt64Value();
      case DOUBLE_VALUE -> value.getDoubleValue();
      case BOOL_VALUE -> value.getBoolValue();
      case JSON_VALUE -> readJson(name, value.getJsonValue());
      case KIND_NOT_SET -> null;
    };
  }

  private Object readJson(String name, String text) {
    try {
      JsonType jsonType = jsonTypes.get(name);
      return jsonType == null
          ? mapper.readValue(text, Object.class)
          : jsonType.mapper().readValue(text, jsonType.type());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "session attribute " + name + " does not read as JSON: " + e.getMessage(), e);
    }
  }
}
