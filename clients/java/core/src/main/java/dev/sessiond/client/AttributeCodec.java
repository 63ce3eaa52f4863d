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
  private final ObjectMapper mapper;
  private final Map<String, Class<?>> jsonTypes;

  /** A codec whose JSON goes through {@code mapper} (for example the application's own). */
  public AttributeCodec(ObjectMapper mapper) {
    this(mapper, Map.of());
  }

  private AttributeCodec(ObjectMapper mapper, Map<String, Class<?>> jsonTypes) {
    this.mapper = mapper;
    this.jsonTypes = Map.copyOf(jsonTypes);
  }

  /** This codec, reading the JSON value of attribute {@code name} into {@code type}. */
  public AttributeCodec withJsonType(String name, Class<?> type) {
    Map<String, Class<?>> types = new HashMap<>(jsonTypes);
    types.put(name, type);
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
      session.setValue(name, encode(attribute));
    }
  }

  /** The typed value for {@code attribute}, which must not be null. */
  public Value encode(Object attribute) {
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
    try {
      return Values.jsonText(mapper.writeValueAsString(attribute));
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
      return mapper.readValue(text, jsonTypes.getOrDefault(name, Object.class));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "session attribute " + name + " does not read as JSON: " + e.getMessage(), e);
    }
  }
}
