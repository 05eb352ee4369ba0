package io.spanstream.flink;

import java.util.Map;
import java.util.TreeMap;

/**
 * What became of the items a reporter was given, at one moment.
 *
 * <p>{@code accepted == delivered + failed + dropped after acceptance + pending}; {@code rejected}
 * items never entered the queue ({@code queue-full} with {@code drop-newest}, {@code closed}).
 *
 * @param notified items Flink handed to the reporter
 * @param accepted items taken into the queue
 * @param delivered records the broker acknowledged
 * @param failed records the client gave up on, by exception name
 * @param dropped items dropped, by reason ({@code queue-full}, {@code too-large},
 *     {@code encode-error}, {@code closed}, {@code not-configured})
 * @param pending items queued or in the Kafka client, not yet settled
 * @param attributesLeftOut attribute values the contract cannot carry (null, other types)
 */
public record ReporterStats(
    long notified,
    long accepted,
    long delivered,
    Map<String, Long> failed,
    Map<String, Long> dropped,
    long pending,
    long attributesLeftOut) {

  /** Immutable, sorted copies of the maps. */
  public ReporterStats {
    failed = Map.copyOf(new TreeMap<>(failed));
    dropped = Map.copyOf(new TreeMap<>(dropped));
  }

  /** All failures. */
  public long failedTotal() {
    return failed.values().stream().mapToLong(Long::longValue).sum();
  }

  /** All drops. */
  public long droppedTotal() {
    return dropped.values().stream().mapToLong(Long::longValue).sum();
  }

  /** One log line: {@code notified=.. accepted=.. delivered=.. failed={..} dropped={..} ..}. */
  public String toLogLine() {
    return "notified=" + notified + " accepted=" + accepted + " delivered=" + delivered
        + " failed=" + new TreeMap<>(failed) + " dropped=" + new TreeMap<>(dropped)
        + " pending=" + pending + " attributesLeftOut=" + attributesLeftOut;
  }
}
