package io.spanstream.flink;

import java.util.Properties;
import org.apache.flink.events.reporter.EventReporter;
import org.apache.flink.events.reporter.EventReporterFactory;

/**
 * Creates {@link KafkaEventReporter}s: {@code events.reporter.<name>.factory.class:
 * io.spanstream.flink.KafkaEventReporterFactory}.
 */
public final class KafkaEventReporterFactory implements EventReporterFactory {
  @Override
  public EventReporter createEventReporter(Properties properties) {
    return new KafkaEventReporter();
  }
}
