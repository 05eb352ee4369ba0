package io.spanstream.flink;

import java.util.HashMap;
import java.util.Map;

/**
 * Flink attribute values as the contract's map union ({@code string, long, double, boolean}).
 *
 * <p>Flink's values are String, Long, Double and Boolean; an Integer, Short or Byte widens to
 * long and a Float to double. Anything else, and a {@code null} value (Flink allows a null
 * String), has no place in the contract: that attribute is left out and counted.
 */
final class AttributeValues {
  private AttributeValues() {}

  /** The attributes the contract can carry; the count of those left out goes to {@code counters}. */
  static Map<String, Object> convert(Map<String, Object> attributes, Counters counters) {
    Map<String, Object> out = new HashMap<>(Math.max(4, attributes.size() * 2));
    for (Map.Entry<String, Object> entry : attributes.entrySet()) {
      Object value = convertValue(entry.getValue());
      if (entry.getKey() == null || value == null) {
        counters.attributeLeftOut(entry.getKey(), entry.getValue());
      } else {
        out.put(entry.getKey(), value);
      }
    }
    return out;
  }

  static Object convertValue(Object value) {
    if (value instanceof String || value instanceof Long || value instanceof Double
        || value instanceof Boolean) {
      return value;
    }
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    if (value instanceof Float) {
      return ((Float) value).doubleValue();
    }
    return null;
  }
}
