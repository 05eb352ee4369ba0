package io.spanstream.flink;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * The record key, as the Python reporter's {@code key} setting chooses it.
 *
 * <ul>
 *   <li>{@code job-id} (default): the {@code <job_id>} attribute, else {@code jobId} (Flink 2.0
 *       has no variables), else the id: one job's records stay in order on one partition;
 *   <li>{@code trace-id}: the id;
 *   <li>{@code attribute:<name>}: that attribute as text, else the id;
 *   <li>{@code none}: no key.
 * </ul>
 *
 * <p>"The id" is the trace id of a span (32 lowercase hex digits) and, since Flink's events
 * belong to no trace, the event id of an event.
 */
final class KeyStrategy {
  private final String text;
  private final String[] attributes;
  private final boolean useId;

  private KeyStrategy(String text, String[] attributes, boolean useId) {
    this.text = text;
    this.attributes = attributes;
    this.useId = useId;
  }

  /** The strategy a {@code key} value names, or {@code null} when it names none. */
  static KeyStrategy parse(String value) {
    String lowered = value.strip().toLowerCase(Locale.ROOT);
    switch (lowered) {
      case "job-id":
        return new KeyStrategy("job-id", new String[] {"<job_id>", "jobId"}, true);
      case "trace-id":
        return new KeyStrategy("trace-id", new String[0], true);
      case "none":
        return new KeyStrategy("none", new String[0], false);
      default:
        if (lowered.startsWith("attribute:")) {
          String name = value.strip().substring("attribute:".length()).strip();
          if (!name.isEmpty()) {
            return new KeyStrategy("attribute:" + name, new String[] {name}, true);
          }
        }
        return null;
    }
  }

  /** The key of a record with these attributes and this id, or {@code null} for none. */
  byte[] key(Map<String, Object> recordAttributes, byte[] id) {
    for (String name : attributes) {
      Object value = recordAttributes.get(name);
      if (value != null) {
        return value.toString().getBytes(StandardCharsets.UTF_8);
      }
    }
    return useId ? HexFormat.of().formatHex(id).getBytes(StandardCharsets.US_ASCII) : null;
  }

  @Override
  public String toString() {
    return text;
  }
}
