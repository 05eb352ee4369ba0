package io.spanstream.flink;

import org.apache.flink.metrics.MetricConfig;

/**
 * The public methods the Kafka trace and event reporters share, each handed to their one {@link
 * ReporterCore}; a subclass adds Flink's {@code notifyOfAdded...} method.
 *
 * @param <T> what the reporter queues
 */
abstract class KafkaReporterBase<T> {
  /** The settings, counters, sender and lifecycle of the reporter. */
  final ReporterCore<T> core;

  KafkaReporterBase(ReporterCore<T> core) {
    this.core = core;
  }

  /** Read the settings and start the sender; never throws (a bad setting is logged). */
  public void open(MetricConfig config) {
    core.open(config);
  }

  /** Deliver what is queued (within {@code close.timeout.s}), then stop. */
  public void close() {
    core.close();
  }

  /** What became of the items (spans or events) so far. */
  public ReporterStats snapshot() {
    return core.snapshot();
  }

  /** Wait until every accepted item is settled, at most {@code timeoutS}; return the rest. */
  public long flush(double timeoutS) {
    return core.flush(timeoutS);
  }
}
