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
  private final Ids ids;
  private final SpanLimits limits;
  private final Counters counters;

  EventRecords(Ids ids, SpanLimits limits, Counters counters) {
    this.ids = ids;
    this.limits = limits;
    this.counters = counters;
  }

  /** The record of one event; its id is made here. */
  GenericRecord toRecord(EventSnapshot event) throws SpanLimits.Exceeded {
    Map<String, Object> attributes = AttributeValues.convert(event.attributes(), counters);
    for (Map.Entry<String, Object> entry : attributes.entrySet()) {
      limits.checkValue(entry.getKey(), entry.getValue());
    }
    limits.checkValue("body", event.body());
    GenericRecord record = new GenericData.Record(schema);
    record.put("event_id", new GenericData.Fixed(eventIdSchema, ids.next(Ids.TRACE_ID_BYTES)));
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
