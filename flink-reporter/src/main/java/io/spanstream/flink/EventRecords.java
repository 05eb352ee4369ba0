package io.spanstream.flink;

import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;

/**
 * A Flink event as one record of {@code event.avsc}: a new 16-byte event id, and null trace and
 * span ids (Flink's events belong to no span).
 */
final class EventRecords {
  private final Schema schema = Contract.EVENT.schema();
  private final Schema eventIdSchema = schema.getField("event_id").schema();
  private final RecordParts parts;

  EventRecords(RecordParts parts) {
    this.parts = parts;
  }

  /** The record of one event; its id is made here. */
  GenericRecord toRecord(EventSnapshot event) throws SpanLimits.Exceeded {
    Map<String, Object> attributes = parts.attributes(event.attributes());
    parts.limits().checkValue("body", event.body());
    GenericRecord record = new GenericData.Record(schema);
    byte[] eventId = parts.ids().next(Ids.TRACE_ID_BYTES);
    record.put("event_id", new GenericData.Fixed(eventIdSchema, eventId));
    record.put("trace_id", null);
    record.put("span_id", null);
    record.put("scope", event.scope());
    record.put("name", event.name());
    record.put("observed_ts_millis", event.observedTsMillis());
    record.put("body", event.body());
    record.put("severity", event.severity());
    record.put("attributes", attributes);
    return record;
  }
}
