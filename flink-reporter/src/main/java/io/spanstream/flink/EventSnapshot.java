package io.spanstream.flink;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.events.Event;

/**
 * An event's fields, copied on the reporting thread.
 *
 * <p>Flink's {@code SimpleEvent} shares its builder's attribute map, and the registry adds the
 * next reporter's variables to that map after this reporter returns: the sender thread must read
 * a copy, not the live map.
 */
record EventSnapshot(
    String scope,
    String name,
    long observedTsMillis,
    String body,
    String severity,
    Map<String, Object> attributes) {

  static EventSnapshot of(Event event) {
    Map<String, Object> source = event.getAttributes();
    return new EventSnapshot(
        orEmpty(event.getClassScope()),
        orEmpty(event.getName()),
        event.getObservedTsMillis(),
        orEmpty(event.getBody()),
        orEmpty(event.getSeverity()),
        source == null ? Map.of() : new HashMap<>(source));
  }

  private static String orEmpty(String text) {
    return text == null ? "" : text;
  }
}
