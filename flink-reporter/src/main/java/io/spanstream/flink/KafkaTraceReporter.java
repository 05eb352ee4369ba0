package io.spanstream.flink;

import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.traces.Span;
import org.apache.flink.traces.reporter.TraceReporter;

/**
 * A Flink {@link TraceReporter} that writes each span tree as one Avro record of spanstream's
 * {@code span.avsc} to a Kafka topic ({@code flink-traces} by default), the way spanstream's
 * Python Kafka reporter does: same keys, headers, record key and ids.
 *
 * <p>Flink calls {@link #notifyOfAddedSpan} synchronously under its metric registry's lock, so
 * it only puts the span in a bounded queue; a sender thread does the rest. Flink 2.3 never calls
 * {@link #close()} on trace reporters: a JVM shutdown hook delivers what is queued within
 * {@code close.timeout.s}.
 */
public final class KafkaTraceReporter implements TraceReporter {
  private final ReporterCore<Span> core =
      new ReporterCore<>(
          "trace",
          ReporterSettings.TRACES_TOPIC,
          (settings, counters) -> {
            SpanRecords records = new SpanRecords(new Ids(), settings.limits(), counters);
            return span -> {
              var record = records.toRecord(span);
              @SuppressWarnings("unchecked")
              var attributes = (java.util.Map<String, Object>) record.get("attributes");
              byte[] traceId = ((org.apache.avro.generic.GenericFixed) record.get("trace_id")).bytes();
              return new KafkaSender.Encoded(
                  settings.key().key(attributes, traceId), Contract.SPAN.encode(record));
            };
          });

  @Override
  public void open(MetricConfig config) {
    core.open(config, Contract.SPAN);
  }

  @Override
  public void notifyOfAddedSpan(Span span) {
    if (span != null) {
      core.offer(span);
    }
  }

  /** Deliver what is queued (within {@code close.timeout.s}), then stop. */
  @Override
  public void close() {
    core.close();
  }

  /** What became of the spans so far. */
  public ReporterStats snapshot() {
    return core.snapshot();
  }

  /** Wait until every accepted span is settled, at most {@code timeoutS}; return the rest. */
  public long flush(double timeoutS) {
    return core.flush(timeoutS);
  }
}
