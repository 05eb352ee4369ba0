package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.events.Event;
import org.junit.jupiter.api.Test;

class RecordEncoderTest {
  private final EventRecords records =
      new EventRecords(new RecordParts(new Ids(), SpanLimits.DEFAULT, new Counters("test")));
  private final GenericRecord[] made = new GenericRecord[1];
  private final KafkaSender.Encoder<EventSnapshot> encoder =
      RecordEncoder.of(
          Contract.EVENT,
          KeyStrategy.parse("job-id"),
          "event_id",
          event -> made[0] = records.toRecord(event));

  private static EventSnapshot event(Map<String, String> variables) {
    return EventSnapshot.of(Event.builder(RecordEncoderTest.class, "Rescaled").build(variables));
  }

  @Test
  void aRecordIsKeyedByTheStrategysAttribute() throws Exception {
    KafkaSender.Encoded encoded = encoder.encode(event(Map.of("<job_id>", "j1")));
    assertArrayEquals("j1".getBytes(StandardCharsets.UTF_8), encoded.key());
  }

  @Test
  void withoutTheAttributeARecordIsKeyedByItsIdField() throws Exception {
    KafkaSender.Encoded encoded = encoder.encode(event(Map.of()));
    String eventId = HexFormat.of().formatHex(((GenericFixed) made[0].get("event_id")).bytes());
    assertEquals(eventId, new String(encoded.key(), StandardCharsets.US_ASCII));
  }

  @Test
  void theValueIsTheContractsEncodingOfTheRecord() throws Exception {
    KafkaSender.Encoded encoded = encoder.encode(event(Map.of()));
    assertArrayEquals(Contract.EVENT.encode(made[0]), encoded.value());
    assertArrayEquals(
        Contract.EVENT.fingerprint(), Arrays.copyOfRange(encoded.value(), 2, 10));
  }
}
