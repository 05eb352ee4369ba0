package io.spanstream.flink;

import java.util.Properties;
import org.apache.flink.traces.reporter.TraceReporter;
import org.apache.flink.traces.reporter.TraceReporterFactory;

/**
 * Creates {@link KafkaTraceReporter}s: {@code traces.reporter.<name>.factory.class:
 * io.spanstream.flink.KafkaTraceReporterFactory}.
 */
public final class KafkaTraceReporterFactory implements TraceReporterFactory {
  @Override
  public TraceReporter createTraceReporter(Properties properties) {
    return new KafkaTraceReporter();
  }
}
