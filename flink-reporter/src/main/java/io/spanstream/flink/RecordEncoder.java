package io.spanstream.flink;

import java.util.Map;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;

/**
 * The sender's {@link KafkaSender.Encoder} for one record type of the contract: the item's record,
 * its key by the {@code key} strategy (falling back to the record's own id), its Avro bytes.
 */
final class RecordEncoder {
  private RecordEncoder() {}

  /** Turns a queued item into its record of the contract, on the sender thread. */
  interface ToRecord<T> {
    /** The record; {@link SpanLimits.Exceeded} drops the item as {@code too-large}. */
    GenericRecord toRecord(T item) throws SpanLimits.Exceeded;
  }

  /** The encoder of {@code contract}'s records, keyed by {@code key} or else by {@code idField}. */
  static <T> KafkaSender.Encoder<T> of(
      Contract contract, KeyStrategy key, String idField, ToRecord<T> records) {
    return item -> {
      GenericRecord record = records.toRecord(item);
      @SuppressWarnings("unchecked")
      var attributes = (Map<String, Object>) record.get("attributes");
      byte[] id = ((GenericFixed) record.get(idField)).bytes();
      return new KafkaSender.Encoded(key.key(attributes, id), contract.encode(record));
    };
  }
}
