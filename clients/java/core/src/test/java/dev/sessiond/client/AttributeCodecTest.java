package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sessiond.v1.Value;
import dev.sessiond.v1.Value.KindCase;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AttributeCodecTest {
  record Cart(List<String> items, double total) {}

  private final AttributeCodec codec = new AttributeCodec(new ObjectMapper());

  @Test
  void scalarsMapToTypedValues() {
    assertEquals(Values.string("a"), codec.encode("k", "a"));
    assertEquals(Values.int64(7), codec.encode("k", 7));
    assertEquals(Values.int64(7), codec.encode("k", 7L));
    assertEquals(Values.float64(0.5), codec.encode("k", 0.5));
    assertEquals(Values.float64(0.5), codec.encode("k", 0.5f));
    assertEquals(Values.bool(true), codec.encode("k", true));
    assertEquals(KindCase.BYTES_VALUE, codec.encode("k", new byte[] {1}).getKindCase());
  }

  @Test
  void integersReadBackAsLongAndFloatsAsDouble() {
    assertEquals(7L, codec.decode("n", codec.encode("k", 7)));
    assertEquals(0.5, codec.decode("x", codec.encode("k", 0.5f)));
    assertArrayEquals(
        new byte[] {1, 2}, (byte[]) codec.decode("b", codec.encode("k", new byte[] {1, 2})));
  }

  @Test
  void objectsAreJsonAndReadBackAsMapsAndLists() {
    Value json = codec.encode("k", new Cart(List.of("book"), 9.5));
    assertEquals(KindCase.JSON_VALUE, json.getKindCase());
    assertEquals(Map.of("items", List.of("book"), "total", 9.5), codec.decode("cart", json));
    assertEquals(List.of(1, "two"), codec.decode("list", Values.jsonText("[1, \"two\"]")));
    assertNull(codec.decode("nothing", Values.jsonText("null")));
  }

  @Test
  void aRegisteredTypeReadsItsAttributeBack() {
    AttributeCodec typed = codec.withJsonType("cart", Cart.class);
    Value json = typed.encode("cart", new Cart(List.of("book"), 9.5));
    assertEquals(new Cart(List.of("book"), 9.5), typed.decode("cart", json));
    assertEquals(Map.of("items", List.of("book"), "total", 9.5), typed.decode("other", json));
  }
}
