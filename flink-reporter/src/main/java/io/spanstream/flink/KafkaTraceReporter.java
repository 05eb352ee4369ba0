package io.spanstream.flink;

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
public final class KafkaTraceReporter extends KafkaReporterBase<Span> implements TraceReporter {

  /** A reporter to be opened by Flink. */
  public KafkaTraceReporter() {
    super(new ReporterCore<>("trace", ReporterSettings.TRACES_TOPIC, Contract.SPAN, "trace_id",
        parts -> new SpanRecords(parts)::toRecord));
  }

  @Override
  public void notifyOfAddedSpan(Span span) {
    if (span != null) {
      core.offer(span);
    }
  }
}
