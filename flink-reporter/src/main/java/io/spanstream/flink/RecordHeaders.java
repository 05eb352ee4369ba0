package io.spanstream.flink;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The headers on every record, named and valued as the Python reporter's: {@code content-type},
 * {@code spanstream-schema-fingerprint} (the record's own schema: span or event) and
 * {@code spanstream-producer}, as the {@code headers} key selects, then {@code headers.additional}.
 */
final class RecordHeaders {
  /** The {@code content-type} header's value: an Avro single-object message. */
  static final String CONTENT_TYPE = "application/vnd.apache.avro+binary; framing=single-object";

  /** The {@code spanstream-producer} header's value. */
  static final String PRODUCER = "spanstream/" + Version.VERSION;

  private RecordHeaders() {}

  static List<Header> of(ReporterSettings settings, Contract contract) {
    List<Header> headers = new ArrayList<>();
    for (String name : settings.headers()) {
      switch (name) {
        case "content-type" -> headers.add(header("content-type", CONTENT_TYPE));
        case "schema-fingerprint" ->
            headers.add(header("spanstream-schema-fingerprint", contract.fingerprintHex()));
        case "producer" -> headers.add(header("spanstream-producer", PRODUCER));
        default -> throw new IllegalArgumentException(name); // ReporterSettings checked it
      }
    }
    for (Map.Entry<String, String> entry : settings.additionalHeaders().entrySet()) {
      headers.add(header(entry.getKey(), entry.getValue()));
    }
    return List.copyOf(headers);
  }

  /** Bytes the headers add to a record (names, values and a margin for their varints). */
  static int sizeBytes(List<Header> headers) {
    int size = 0;
    for (Header header : headers) {
      size += header.key().length() + header.value().length + 8;
    }
    return size;
  }

  private static Header header(String name, String value) {
    return new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8));
  }
}
