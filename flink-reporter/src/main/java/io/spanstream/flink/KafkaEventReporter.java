package io.spanstream.flink;

import org.apache.flink.events.Event;
import org.apache.flink.events.reporter.EventReporter;
import org.apache.flink.metrics.MetricConfig;

/**
 * A Flink {@link EventReporter} (Flink 2.1+) that writes each event as one Avro record of
 * spanstream's {@code event.avsc} to its own Kafka topic ({@code flink-events} by default): same
 * keys, headers and behaviour as {@link KafkaTraceReporter}; a new event id per event, null
 * trace and span ids.
 */
public final class KafkaEventReporter implements EventReporter {
  private final ReporterCore<EventSnapshot> core =
      new ReporterCore<>(
          "event",
          ReporterSettings.EVENTS_TOPIC,
          (settings, counters) -> {
            EventRecords records = new EventRecords(new Ids(), settings.limits(), counters);
            return event -> {
              var record = records.toRecord(event);
              @SuppressWarnings("unchecked")
              var attributes = (java.util.Map<String, Object>) record.get("attributes");
              byte[] eventId = ((org.apache.avro.generic.GenericFixed) record.get("event_id")).bytes();
              return new KafkaSender.Encoded(
                  settings.key().key(attributes, eventId), Contract.EVENT.encode(record));
            };
          });

  @Override
  public void open(MetricConfig config) {
    core.open(config, Contract.EVENT);
  }

  @Override
  public void notifyOfAddedEvent(Event event) {
    if (event == null) {
      return;
    }
    try {
      // A copy: Flink may change a delivered event's attribute map for the next reporter.
      core.offer(EventSnapshot.of(event));
    } catch (RuntimeException exc) {
      core.rejected("encode-error"); // an Event whose getters throw
    }
  }

  /** Deliver what is queued (within {@code close.timeout.s}), then stop. */
  @Override
  public void close() {
    core.close();
  }

  /** What became of the events so far. */
  public ReporterStats snapshot() {
    return core.snapshot();
  }

  /** Wait until every accepted event is settled, at most {@code timeoutS}; return the rest. */
  public long flush(double timeoutS) {
    return core.flush(timeoutS);
  }
}
