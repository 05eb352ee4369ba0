package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.traces.Span;
import org.junit.jupiter.api.Test;

/** The reporting thread's side: no broker is needed, none answers at the address used. */
class ReporterQueueTest {
  private static MetricConfig config(Map<String, String> keys) {
    MetricConfig config = new MetricConfig();
    config.putAll(keys);
    return config;
  }

  @Test
  void aFullQueueDropsTheNewestAndCountsIt() {
    KafkaTraceReporter reporter = new KafkaTraceReporter();
    // Port 9 (discard) on loopback: the sender waits for the topic, the queue fills.
    reporter.open(
        config(
            Map.of(
                "bootstrap.servers", "127.0.0.1:9", "queue.max.spans", "2", "close.timeout.s", "0")));
    for (int i = 0; i < 5; i++) {
      reporter.notifyOfAddedSpan(Span.builder(ReporterQueueTest.class, "S" + i).build());
    }
    ReporterStats stats = reporter.snapshot();
    assertEquals(5, stats.notified());
    assertEquals(2, stats.accepted());
    assertEquals(Map.of("queue-full", 3L), stats.dropped());
    reporter.close();
  }

  @Test
  void closeDropsWhatIsStillQueuedAsClosedAndAccountsForEverySpan() {
    KafkaTraceReporter reporter = new KafkaTraceReporter();
    reporter.open(
        config(Map.of("bootstrap.servers", "127.0.0.1:9", "close.timeout.s", "0.2")));
    for (int i = 0; i < 3; i++) {
      reporter.notifyOfAddedSpan(Span.builder(ReporterQueueTest.class, "S").build());
    }
    reporter.close();
    reporter.notifyOfAddedSpan(Span.builder(ReporterQueueTest.class, "late").build());
    ReporterStats stats = reporter.snapshot();
    assertEquals(4, stats.notified());
    assertEquals(Map.of("closed", 4L), stats.dropped());
    assertEquals(0, stats.pending());
  }

  @Test
  void withoutBootstrapServersEverySpanIsDroppedNotConfigured() {
    KafkaTraceReporter reporter = new KafkaTraceReporter();
    reporter.open(config(Map.of()));
    reporter.notifyOfAddedSpan(Span.builder(ReporterQueueTest.class, "S").build());
    assertEquals(Map.of("not-configured", 1L), reporter.snapshot().dropped());
    reporter.close();
  }

  @Test
  void dropOldestMakesRoomAndCountsTheEvictedSpan() {
    KafkaTraceReporter reporter = new KafkaTraceReporter();
    reporter.open(
        config(
            Map.of(
                "bootstrap.servers", "127.0.0.1:9",
                "queue.max.spans", "2",
                "queue.overflow.policy", "drop-oldest",
                "close.timeout.s", "0")));
    for (int i = 0; i < 5; i++) {
      reporter.notifyOfAddedSpan(Span.builder(ReporterQueueTest.class, "S" + i).build());
    }
    ReporterStats stats = reporter.snapshot();
    assertEquals(5, stats.accepted());
    assertEquals(Map.of("queue-full", 3L), stats.dropped());
    assertEquals(2, stats.pending());
    reporter.close();
  }
}
