package io.spanstream.flink;

import java.security.SecureRandom;
import java.util.SplittableRandom;

/**
 * Random, non-zero ids, as {@code spanstream.schemas} makes them: 16-byte trace and event ids,
 * 8-byte span ids. Not thread-safe: each sender thread has its own.
 */
final class Ids {
  static final int TRACE_ID_BYTES = 16;
  static final int SPAN_ID_BYTES = 8;

  private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());

  byte[] next(int size) {
    byte[] id = new byte[size];
    boolean zero = true;
    while (zero) {
      random.nextBytes(id);
      for (byte b : id) {
        if (b != 0) {
          zero = false;
          break;
        }
      }
    }
    return id;
  }
}
