package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.traces.Span;
import org.apache.flink.traces.SpanBuilder;
import org.junit.jupiter.api.Test;

class SpanRecordsTest {
  private final Counters counters = new Counters("test");
  private final SpanRecords records =
      new SpanRecords(new RecordParts(new Ids(), SpanLimits.DEFAULT, counters));

  private static Span checkpointWithTasks() {
    SpanBuilder root =
        Span.builder(SpanRecordsTest.class, "Checkpoint")
            .setStartTsMillis(1_000)
            .setEndTsMillis(1_500)
            .setAttribute("checkpointId", 3L);
    root.addChild(Span.builder(SpanRecordsTest.class, "Checkpoint_Task").setAttribute("a", 1L));
    root.addChild(Span.builder(SpanRecordsTest.class, "Checkpoint_Task").setAttribute("a", 2L));
    return root.build(Map.of("<job_id>", "j1"));
  }

  @SuppressWarnings("unchecked")
  private static List<GenericRecord> children(GenericRecord record) {
    return (List<GenericRecord>) record.get("children");
  }

  private static byte[] id(GenericRecord record, String field) {
    return ((GenericFixed) record.get(field)).bytes();
  }

  @Test
  void childrenNestInTheRootsRecordInOrder() throws Exception {
    GenericRecord root = records.toRecord(checkpointWithTasks());
    assertEquals(2, children(root).size());
    assertEquals(1L, ((Map<?, ?>) children(root).get(0).get("attributes")).get("a"));
    assertEquals(2L, ((Map<?, ?>) children(root).get(1).get("attributes")).get("a"));
    assertEquals("Checkpoint_Task", children(root).get(0).get("name"));
    assertEquals(1_000L, root.get("start_ts_millis"));
    assertEquals(1_500L, root.get("end_ts_millis"));
  }

  @Test
  void theWholeTreeSharesOneTraceIdAndEachSpanHasItsOwnSpanId() throws Exception {
    GenericRecord root = records.toRecord(checkpointWithTasks());
    assertEquals(16, id(root, "trace_id").length);
    assertEquals(8, id(root, "span_id").length);
    for (GenericRecord child : children(root)) {
      assertArrayEquals(id(root, "trace_id"), id(child, "trace_id"));
      assertFalse(java.util.Arrays.equals(id(root, "span_id"), id(child, "span_id")));
    }
    assertFalse(
        java.util.Arrays.equals(id(children(root).get(0), "span_id"),
            id(children(root).get(1), "span_id")));
  }

  @Test
  void eachRootGetsANewTraceId() throws Exception {
    Span span = checkpointWithTasks();
    assertFalse(
        java.util.Arrays.equals(
            id(records.toRecord(span), "trace_id"), id(records.toRecord(span), "trace_id")));
  }

  @Test
  void nullAndUnsupportedValuesAreLeftOutAndCounted() throws Exception {
    Map<String, Object> attributes = new HashMap<>();
    attributes.put("kept", 4);
    attributes.put("nothing", null);
    attributes.put("list", List.of(1));
    Map<String, Object> out = AttributeValues.convert(attributes, counters);
    assertEquals(Map.of("kept", 4L), out);
    assertEquals(2, counters.snapshot().attributesLeftOut());
  }

  @Test
  void aSpanOverTheChildrenLimitIsRefused() {
    SpanRecords limited =
        new SpanRecords(new RecordParts(new Ids(), new SpanLimits(128, 1, 0), counters));
    assertThrows(SpanLimits.Exceeded.class, () -> limited.toRecord(checkpointWithTasks()));
  }

  @Test
  void aStringOverTheValueLimitIsRefused() {
    SpanRecords limited =
        new SpanRecords(new RecordParts(new Ids(), new SpanLimits(128, 0, 10), counters));
    Span span = Span.builder(SpanRecordsTest.class, "Big").setAttribute("text", "x".repeat(11))
        .build();
    assertThrows(SpanLimits.Exceeded.class, () -> limited.toRecord(span));
  }
}
