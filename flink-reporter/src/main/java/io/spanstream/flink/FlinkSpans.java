package io.spanstream.flink;

import java.util.List;
import org.apache.flink.traces.Span;

/** Flink {@link Span} members that older Flink versions lack. */
final class FlinkSpans {
  // Span.getChildren() arrived in Flink 2.2; on 2.0 and 2.1 calling it fails to link.
  private static volatile boolean childrenSupported = true;

  private FlinkSpans() {}

  /** The span's children, or none on a Flink without {@code Span.getChildren()} (before 2.2). */
  static List<Span> children(Span span) {
    if (childrenSupported) {
      try {
        List<Span> children = span.getChildren();
        return children == null ? List.of() : children;
      } catch (NoSuchMethodError | AbstractMethodError exc) {
        childrenSupported = false;
      }
    }
    return List.of();
  }
}
