package io.spanstream.flink;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;

/**
 * One Avro record type of spanstream's contract ({@code span.avsc} or {@code event.avsc}), read
 * from the jar, where the build put the repository's {@code schemas/} files unchanged.
 *
 * <p>Messages are Avro single-object encoded ({@code C3 01}, the 8-byte CRC-64-AVRO fingerprint,
 * the body): what {@code spanstream.schemas} writes and its consumer reads.
 */
public final class Contract {

  /** The span record ({@code schemas/span.avsc}). */
  public static final Contract SPAN = load("span.avsc");

  /** The event record ({@code schemas/event.avsc}). */
  public static final Contract EVENT = load("event.avsc");

  private final String file;
  private final Schema schema;
  private final byte[] fingerprint;
  private final BinaryMessageEncoder<GenericRecord> encoder;

  private Contract(String file, Schema schema) {
    this.file = file;
    this.schema = schema;
    this.fingerprint =
        ByteBuffer.allocate(Long.BYTES)
            .order(ByteOrder.LITTLE_ENDIAN)
            .putLong(SchemaNormalization.parsingFingerprint64(schema))
            .array();
    this.encoder = new BinaryMessageEncoder<>(GenericData.get(), schema);
  }

  private static Contract load(String file) {
    String resource = "/io/spanstream/flink/schema/" + file;
    try (InputStream in = Contract.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("the jar lacks " + resource + " (built without schemas/?)");
      }
      return new Contract(file, new Schema.Parser().parse(in));
    } catch (IOException exc) {
      throw new UncheckedIOException("cannot read " + resource, exc);
    }
  }

  /** The schema file's name in {@code schemas/}. */
  public String file() {
    return file;
  }

  /** The parsed schema. */
  public Schema schema() {
    return schema;
  }

  /** The fingerprint as it appears in every message: 8 bytes, little-endian. */
  public byte[] fingerprint() {
    return fingerprint.clone();
  }

  /** The fingerprint in lowercase hex, as the {@code spanstream-schema-fingerprint} header. */
  public String fingerprintHex() {
    return HexFormat.of().formatHex(fingerprint);
  }

  /** Encode a record of this schema as an Avro single-object message. */
  public byte[] encode(GenericRecord record) throws IOException {
    ByteBuffer buffer = encoder.encode(record);
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return bytes;
  }

  /**
   * Prints each schema file's name and fingerprint, one per line ({@code span.avsc 1a2b...}); the
   * Python test compares them with {@code spanstream.schemas}.
   */
  public static void main(String[] args) {
    for (Contract contract : new Contract[] {SPAN, EVENT}) {
      System.out.println(contract.file() + " " + contract.fingerprintHex());
    }
  }
}
