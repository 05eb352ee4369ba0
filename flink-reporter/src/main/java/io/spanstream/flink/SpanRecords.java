package io.spanstream.flink;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.traces.Span;

/**
 * A Flink {@link Span} tree as one record of {@code span.avsc}: children nested in the root's
 * record, one new 16-byte trace id per root shared by the whole tree, an 8-byte span id for each
 * span (Flink's spans carry no ids; spanstream's Python reporter makes them the same way).
 */
final class SpanRecords {
  private final Schema schema = Contract.SPAN.schema();
  private final Schema traceIdSchema = schema.getField("trace_id").schema();
  private final Schema spanIdSchema = schema.getField("span_id").schema();
  private final RecordParts parts;
  private final SpanLimits limits;

  SpanRecords(RecordParts parts) {
    this.parts = parts;
    this.limits = parts.limits();
  }

  /** The record of a root span and its children. */
  GenericRecord toRecord(Span root) throws SpanLimits.Exceeded {
    GenericData.Fixed traceId =
        new GenericData.Fixed(traceIdSchema, parts.ids().next(Ids.TRACE_ID_BYTES));
    return toRecord(root, traceId, 0);
  }

  private GenericRecord toRecord(Span span, GenericData.Fixed traceId, int depth)
      throws SpanLimits.Exceeded {
    if (depth > limits.maxDepth()) {
      throw new SpanLimits.Exceeded("deeper than " + limits.maxDepth() + " levels");
    }
    Map<String, Object> attributes = parts.attributes(span.getAttributes());
    List<Span> children = FlinkSpans.children(span);
    if (limits.maxChildren() > 0 && children.size() > limits.maxChildren()) {
      throw new SpanLimits.Exceeded("more than " + limits.maxChildren() + " children");
    }
    List<GenericRecord> childRecords = new ArrayList<>(children.size());
    for (Span child : children) {
      childRecords.add(toRecord(child, traceId, depth + 1));
    }
    GenericRecord record = new GenericData.Record(schema);
    record.put("trace_id", traceId);
    record.put("span_id", new GenericData.Fixed(spanIdSchema, parts.ids().next(Ids.SPAN_ID_BYTES)));
    record.put("scope", String.valueOf(span.getScope()));
    record.put("name", String.valueOf(span.getName()));
    record.put("start_ts_millis", span.getStartTsMillis());
    record.put("end_ts_millis", span.getEndTsMillis());
    record.put("attributes", attributes);
    record.put("children", childRecords);
    return record;
  }
}
