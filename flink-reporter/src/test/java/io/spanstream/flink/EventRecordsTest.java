package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.Map;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.events.Event;
import org.apache.flink.events.EventBuilder;
import org.junit.jupiter.api.Test;

class EventRecordsTest {
  private final EventRecords records =
      new EventRecords(new RecordParts(new Ids(), SpanLimits.DEFAULT, new Counters("test")));

  private static Event checkpointEvent() {
    EventBuilder builder =
        Event.builder(EventRecordsTest.class, "CheckpointEvent")
            .setObservedTsMillis(1_234)
            .setSeverity("INFO")
            .setAttribute("checkpointId", 5L);
    return builder.build(Map.of("<job_id>", "j1"));
  }

  @Test
  void anEventHasANewEventIdAndNoTraceOrSpanId() throws Exception {
    EventSnapshot event = EventSnapshot.of(checkpointEvent());
    GenericRecord first = records.toRecord(event);
    GenericRecord second = records.toRecord(event);
    assertEquals(16, ((GenericFixed) first.get("event_id")).bytes().length);
    assertFalse(
        java.util.Arrays.equals(
            ((GenericFixed) first.get("event_id")).bytes(),
            ((GenericFixed) second.get("event_id")).bytes()));
    assertNull(first.get("trace_id"));
    assertNull(first.get("span_id"));
  }

  @Test
  void theEventsFieldsAndVariablesAreCarried() throws Exception {
    GenericRecord record = records.toRecord(EventSnapshot.of(checkpointEvent()));
    assertEquals("CheckpointEvent", record.get("name"));
    assertEquals(EventRecordsTest.class.getCanonicalName(), record.get("scope"));
    assertEquals(1_234L, record.get("observed_ts_millis"));
    assertEquals("INFO", record.get("severity"));
    assertEquals("", record.get("body"));
    assertEquals(Map.of("checkpointId", 5L, "<job_id>", "j1"), record.get("attributes"));
  }

  @Test
  void theSnapshotDoesNotSeeLaterChangesToTheEventsMap() {
    Map<String, Object> live = new HashMap<>(Map.of("a", "1"));
    Event event =
        new Event() {
          @Override
          public long getObservedTsMillis() {
            return 1;
          }

          @Override
          public String getName() {
            return "E";
          }

          @Override
          public String getClassScope() {
            return "s";
          }

          @Override
          public String getBody() {
            return null;
          }

          @Override
          public String getSeverity() {
            return null;
          }

          @Override
          public Map<String, Object> getAttributes() {
            return live;
          }
        };
    EventSnapshot snapshot = EventSnapshot.of(event);
    live.put("<region>", "added for the next reporter");
    assertEquals(Map.of("a", "1"), snapshot.attributes());
    assertEquals("", snapshot.body());
  }
}
