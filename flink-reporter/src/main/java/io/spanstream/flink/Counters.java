package io.spanstream.flink;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reporter's counters: thread-safe, lock-free, and logged (rate-limited) when something is
 * dropped or left out.
 */
final class Counters {
  private static final Logger LOG = LoggerFactory.getLogger(Counters.class);
  private static final long LOG_INTERVAL_MILLIS = 10_000;

  final LongAdder notified = new LongAdder();
  final LongAdder accepted = new LongAdder();
  final LongAdder delivered = new LongAdder();
  final LongAdder settledAfterAccept = new LongAdder();
  private final LongAdder attributesLeftOut = new LongAdder();
  private final ConcurrentHashMap<String, LongAdder> failed = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> dropped = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, LongAdder> droppedBeforeAccept =
      new ConcurrentHashMap<>();
  private final RateLimitedLog rateLimited = new RateLimitedLog(LOG, LOG_INTERVAL_MILLIS);
  private final String reporter;

  Counters(String reporter) {
    this.reporter = reporter;
  }

  /** An item that never entered the queue. */
  void rejected(String reason) {
    droppedBeforeAccept.computeIfAbsent(reason, k -> new LongAdder()).increment();
    dropped.computeIfAbsent(reason, k -> new LongAdder()).increment();
    rateLimited.warn("drop:" + reason, "{} dropped an item ({})", reporter, reason);
  }

  /** An accepted item dropped before it reached the Kafka client. */
  void dropped(String reason, String detail) {
    dropped.computeIfAbsent(reason, k -> new LongAdder()).increment();
    settledAfterAccept.increment();
    rateLimited.warn("drop:" + reason, "{} dropped an item ({}: {})", reporter, reason, detail);
  }

  /** A record the Kafka client gave up on. */
  void failed(Exception exc) {
    String name = exc.getClass().getSimpleName();
    failed.computeIfAbsent(name, k -> new LongAdder()).increment();
    settledAfterAccept.increment();
    rateLimited.warn("fail:" + name, "{} could not deliver a record: {}", reporter, exc.toString());
  }

  void delivered() {
    delivered.increment();
    settledAfterAccept.increment();
  }

  void attributeLeftOut(String key, Object value) {
    attributesLeftOut.increment();
    rateLimited.warn(
        "attribute",
        "{} left out attribute {} (a {} value; the contract carries String, Long, Double, Boolean)",
        reporter,
        key,
        value == null ? "null" : value.getClass().getSimpleName());
  }

  ReporterStats snapshot() {
    long acceptedNow = accepted.sum();
    long settled = settledAfterAccept.sum();
    return new ReporterStats(
        notified.sum(),
        acceptedNow,
        delivered.sum(),
        sums(failed),
        sums(dropped),
        Math.max(0, acceptedNow - settled),
        attributesLeftOut.sum());
  }

  private static Map<String, Long> sums(Map<String, LongAdder> counts) {
    Map<String, Long> out = new HashMap<>();
    counts.forEach((key, adder) -> out.put(key, adder.sum()));
    return out;
  }
}
