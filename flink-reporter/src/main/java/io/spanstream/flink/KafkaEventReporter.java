package io.spanstream.flink;

import org.apache.flink.events.Event;
import org.apache.flink.events.reporter.EventReporter;

/**
 * A Flink {@link EventReporter} (Flink 2.1+) that writes each event as one Avro record of
 * spanstream's {@code event.avsc} to its own Kafka topic ({@code flink-events} by default): same
 * keys, headers and behaviour as {@link KafkaTraceReporter}; a new event id per event, null
 * trace and span ids.
 */
public final class KafkaEventReporter extends KafkaReporterBase<EventSnapshot>
    implements EventReporter {

  /** A reporter to be opened by Flink. */
  public KafkaEventReporter() {
    super(new ReporterCore<>("event", ReporterSettings.EVENTS_TOPIC, Contract.EVENT, "event_id",
        parts -> new EventRecords(parts)::toRecord));
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
}
