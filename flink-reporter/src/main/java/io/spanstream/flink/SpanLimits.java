package io.spanstream.flink;

/**
 * The {@code span.max.*} limits of the Python reporter: a span beyond one is dropped and counted
 * {@code too-large}, on the sender thread.
 *
 * @param maxDepth levels of children below the root (1 to 128; 128 is also the decoder's limit)
 * @param maxChildren children of any one span; 0 is no limit
 * @param maxAttributeValueBytes UTF-8 bytes of any string attribute value; 0 is no limit
 */
record SpanLimits(int maxDepth, int maxChildren, int maxAttributeValueBytes) {
  /** The decoder's limit on nesting ({@code spanstream.schemas.MAX_SPAN_DEPTH}). */
  static final int MAX_DEPTH = 128;

  /** The defaults: depth 128, the other two off. */
  static final SpanLimits DEFAULT = new SpanLimits(MAX_DEPTH, 0, 0);

  /** Thrown while converting an item that breaks a limit. */
  static final class Exceeded extends Exception {
    private static final long serialVersionUID = 1L;

    Exceeded(String what) {
      super(what, null, false, false);
    }
  }

  void checkValue(String key, Object value) throws Exceeded {
    if (maxAttributeValueBytes > 0 && value instanceof String text
        // A char is at most 3 UTF-8 bytes: count exactly only when that bound is over the limit.
        && (long) text.length() * 3 > maxAttributeValueBytes
        && text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > maxAttributeValueBytes) {
      throw new Exceeded("attribute " + key + " is over " + maxAttributeValueBytes + " bytes");
    }
  }
}
