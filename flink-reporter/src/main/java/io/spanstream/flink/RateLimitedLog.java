package io.spanstream.flink;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Lets one WARN per key through every interval, and says how many like it were held back.
 * Thread-safe; never blocks beyond a map look-up.
 */
final class RateLimitedLog {
  private final Logger log;
  private final long intervalNanos;
  private final ConcurrentHashMap<String, AtomicLong> nextAllowed = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, AtomicLong> heldBack = new ConcurrentHashMap<>();

  RateLimitedLog(Logger log, long intervalMillis) {
    this.log = log;
    this.intervalNanos = intervalMillis * 1_000_000L;
  }

  /** Log {@code message} (with {@code {}} placeholders) at WARN unless this key spoke lately. */
  void warn(String key, String message, Object... args) {
    long now = System.nanoTime();
    AtomicLong next = nextAllowed.computeIfAbsent(key, k -> new AtomicLong(now));
    long due = next.get();
    if (now - due < 0 || !next.compareAndSet(due, now + intervalNanos)) {
      heldBack.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
      return;
    }
    AtomicLong held = heldBack.get(key);
    long suppressed = held == null ? 0 : held.getAndSet(0);
    if (suppressed > 0) {
      Object[] withCount = java.util.Arrays.copyOf(args, args.length + 1);
      withCount[args.length] = suppressed;
      log.warn(message + " ({} more like it not logged)", withCount);
    } else {
      log.warn(message, args);
    }
  }
}
