package io.spanstream.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.flink.traces.Span;
import org.junit.jupiter.api.Test;

class ContractTest {
  @Test
  void messagesAreSingleObjectFramedWithTheSchemaFingerprint() throws Exception {
    GenericRecord record =
        new SpanRecords(new RecordParts(new Ids(), SpanLimits.DEFAULT, new Counters("test")))
            .toRecord(Span.builder(ContractTest.class, "Checkpoint").build());
    byte[] message = Contract.SPAN.encode(record);
    assertEquals((byte) 0xC3, message[0]);
    assertEquals((byte) 0x01, message[1]);
    assertArrayEquals(Contract.SPAN.fingerprint(), Arrays.copyOfRange(message, 2, 10));
  }

  @Test
  void theSpanAndEventSchemasComeFromTheRepositorysSchemasFolder() {
    assertEquals("io.spanstream.avro.Span", Contract.SPAN.schema().getFullName());
    assertEquals("io.spanstream.avro.Event", Contract.EVENT.schema().getFullName());
  }

  @Test
  void aMessageDecodesBackToTheSameRecord() throws Exception {
    GenericRecord record =
        new SpanRecords(new RecordParts(new Ids(), SpanLimits.DEFAULT, new Counters("test")))
            .toRecord(
                Span.builder(ContractTest.class, "Checkpoint")
                    .setAttribute("checkpointId", 7L)
                    .build());
    GenericRecord decoded =
        new BinaryMessageDecoder<GenericRecord>(GenericData.get(), Contract.SPAN.schema())
            .decode(ByteBuffer.wrap(Contract.SPAN.encode(record)));
    assertEquals(record.toString(), decoded.toString());
  }
}
