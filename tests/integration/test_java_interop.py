"""Java's Avro reads what spanstream writes, and writes what spanstream reads.

Apache Avro 1.12 (resolved from Maven Central into ``.state/avro-interop/``) decodes our
single-object messages with ``BinaryMessageDecoder`` (no registry: the fingerprint finds the
schema), prints each record as typed JSON, and re-encodes it with ``BinaryMessageEncoder``.
The record must be our span (or event), and Java's bytes must be ours, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from spanstream.schemas import (
    CURRENT_EVENT_SCHEMA_VERSION,
    CURRENT_SCHEMA_VERSION,
    AttributeValue,
    Event,
    Span,
    decode_event,
    decode_span,
    default_event_history,
    encode_event,
    encode_span,
)
from spanstream.schemas._schema_history import default_history

AVRO_VERSION = "1.12.0"
_ROOT = Path(__file__).resolve().parents[2]
_CACHE = _ROOT / ".state" / "avro-interop"
_GOLDEN = _ROOT / "tests" / "unit" / "golden" / f"span-v{CURRENT_SCHEMA_VERSION}.json"
_EVENT_GOLDEN = _ROOT / "tests" / "unit" / "golden" / f"event-v{CURRENT_EVENT_SCHEMA_VERSION}.json"

_POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.spanstream</groupId>
  <artifactId>avro-interop</artifactId>
  <version>0</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.avro</groupId>
      <artifactId>avro</artifactId>
      <version>{AVRO_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"""

_JAVA = r"""
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.*;
import org.apache.avro.Schema;
import org.apache.avro.generic.*;
import org.apache.avro.io.DatumReader;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;

public class SpanInterop {
  // Keep map entries in wire order, so re-encoding can be compared byte for byte.
  static class OrderedReader extends GenericDatumReader<Object> {
    OrderedReader(Schema w, Schema r, GenericData d) { super(w, r, d); }
    @Override protected Object newMap(Object old, int size) { return new LinkedHashMap<>(); }
  }
  static class OrderedData extends GenericData {
    @Override public DatumReader createDatumReader(Schema w, Schema r) {
      return new OrderedReader(w, r, this);
    }
  }
  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }
  static Map<String, Object> toJson(GenericRecord r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("trace_id", hex(((GenericFixed) r.get("trace_id")).bytes()));
    out.put("span_id", hex(((GenericFixed) r.get("span_id")).bytes()));
    out.put("scope", r.get("scope").toString());
    out.put("name", r.get("name").toString());
    out.put("start_ts_millis", r.get("start_ts_millis"));
    out.put("end_ts_millis", r.get("end_ts_millis"));
    List<Object> attributes = new ArrayList<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) r.get("attributes")).entrySet()) {
      Object v = e.getValue();
      String type; Object value;
      if (v instanceof CharSequence) { type = "string"; value = v.toString(); }
      else if (v instanceof Long) { type = "long"; value = v; }
      else if (v instanceof Double) {
        type = "double"; value = String.format("%016x", Double.doubleToRawLongBits((Double) v));
      } else { type = "boolean"; value = v; }
      attributes.add(Arrays.asList(e.getKey().toString(), type, value));
    }
    out.put("attributes", attributes);
    List<Object> children = new ArrayList<>();
    for (Object c : (List<?>) r.get("children")) children.add(toJson((GenericRecord) c));
    out.put("children", children);
    return out;
  }
  static List<Object> attributesJson(Map<?, ?> map) {
    List<Object> attributes = new ArrayList<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      Object v = e.getValue();
      String type; Object value;
      if (v instanceof CharSequence) { type = "string"; value = v.toString(); }
      else if (v instanceof Long) { type = "long"; value = v; }
      else if (v instanceof Double) {
        type = "double"; value = String.format("%016x", Double.doubleToRawLongBits((Double) v));
      } else { type = "boolean"; value = v; }
      attributes.add(Arrays.asList(e.getKey().toString(), type, value));
    }
    return attributes;
  }
  static Object optionalHex(Object fixed) {
    return fixed == null ? null : hex(((GenericFixed) fixed).bytes());
  }
  static Map<String, Object> eventToJson(GenericRecord r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("event_id", hex(((GenericFixed) r.get("event_id")).bytes()));
    out.put("trace_id", optionalHex(r.get("trace_id")));
    out.put("span_id", optionalHex(r.get("span_id")));
    out.put("scope", r.get("scope").toString());
    out.put("name", r.get("name").toString());
    out.put("observed_ts_millis", r.get("observed_ts_millis"));
    out.put("body", r.get("body").toString());
    out.put("severity", r.get("severity").toString());
    out.put("attributes", attributesJson((Map<?, ?>) r.get("attributes")));
    return out;
  }
  // args: span|event, the schema file, then one message file each.
  public static void main(String[] args) throws Exception {
    boolean events = args[0].equals("event");
    Schema schema = new Schema.Parser().parse(new File(args[1]));
    OrderedData model = new OrderedData();
    BinaryMessageDecoder<GenericRecord> decoder = new BinaryMessageDecoder<>(model, schema);
    BinaryMessageEncoder<GenericRecord> encoder = new BinaryMessageEncoder<>(model, schema);
    ObjectMapper json = new ObjectMapper();
    for (int i = 2; i < args.length; i++) {
      GenericRecord record = decoder.decode(Files.readAllBytes(Paths.get(args[i])));
      ByteBuffer again = encoder.encode(record);
      byte[] bytes = new byte[again.remaining()];
      again.get(bytes);
      Map<String, Object> out = new LinkedHashMap<>();
      out.put(events ? "event" : "span", events ? eventToJson(record) : toJson(record));
      out.put("reencoded_hex", hex(bytes));
      System.out.println(json.writeValueAsString(out));
    }
  }
}
"""


def _java_attributes(attributes: Mapping[str, AttributeValue]) -> list[list[Any]]:
    """``[key, avro type, value]`` as the Java program prints them (doubles as IEEE-754 bits)."""
    names = {str: "string", int: "long", float: "double", bool: "boolean"}
    return [
        [key, names[type(value)], struct.pack(">d", value).hex() if type(value) is float else value]
        for key, value in attributes.items()
    ]


def _java_view(span: Span) -> dict[str, Any]:
    """The span as the Java program prints it."""
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "scope": span.scope,
        "name": span.name,
        "start_ts_millis": span.start_ts_millis,
        "end_ts_millis": span.end_ts_millis,
        "attributes": _java_attributes(span.attributes),
        "children": [_java_view(child) for child in span.children],
    }


@pytest.fixture(scope="module")
def java_interop() -> Path:
    """The compiled interop program's class directory, with Avro's jars in ``lib/``."""
    if shutil.which("mvn") is None or shutil.which("javac") is None:
        pytest.fail("Java interop needs mvn and javac on PATH (Java 17 + Maven)")
    _CACHE.mkdir(parents=True, exist_ok=True)
    lib = _CACHE / "lib"
    if not (lib / f"avro-{AVRO_VERSION}.jar").exists():
        (_CACHE / "pom.xml").write_text(_POM, "utf-8")
        subprocess.run(
            ["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
            cwd=_CACHE,
            check=True,
            timeout=600,
        )
    digest = hashlib.sha256(_JAVA.encode()).hexdigest()[:16]
    classes = _CACHE / f"classes-{digest}"
    if not (classes / "SpanInterop.class").exists():
        source = _CACHE / "src" / "SpanInterop.java"
        source.parent.mkdir(exist_ok=True)
        source.write_text(_JAVA, "utf-8")
        classes.mkdir(exist_ok=True)
        subprocess.run(
            ["javac", "-nowarn", "-cp", f"{lib}/*", "-d", str(classes), str(source)],
            check=True,
            timeout=300,
        )
    return classes


def _golden_messages(golden: Path) -> dict[str, bytes]:
    vectors = json.loads(golden.read_text("utf-8"))["vectors"]
    return {v["name"]: bytes.fromhex(v["message_hex"]) for v in vectors}


def _java_reads(
    java_interop: Path, tmp_path: Path, kind: str, schema_text: str, messages: dict[str, bytes]
) -> list[dict[str, Any]]:
    """Run the Java program in ``kind`` mode on each message; one printed JSON object each."""
    paths = []
    for name, message in messages.items():
        path = tmp_path / f"{name}.avro"
        path.write_bytes(message)
        paths.append(path)
    schema = tmp_path / f"{kind}.avsc"
    schema.write_text(schema_text, "utf-8")
    result = subprocess.run(
        ["java", "-cp", f"{java_interop}:{java_interop.parent / 'lib'}/*", "SpanInterop", kind]
        + [str(schema)]
        + [str(p) for p in paths],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(messages)
    return [json.loads(line) for line in lines]


def test_java_reads_our_messages_and_writes_the_same_bytes(
    java_interop: Path, tmp_path: Path
) -> None:
    """BinaryMessageDecoder gets our golden spans; BinaryMessageEncoder writes our bytes back."""
    messages = _golden_messages(_GOLDEN)
    seen = _java_reads(java_interop, tmp_path, "span", default_history().current.text, messages)
    for (name, message), printed in zip(messages.items(), seen, strict=True):
        span = decode_span(message)
        assert printed["span"] == _java_view(span), name
        assert printed["reencoded_hex"] == message.hex(), name
        assert encode_span(span) == message, name


def _java_event_view(event: Event) -> dict[str, Any]:
    """The event as the Java program prints it."""
    return {
        "event_id": event.event_id.hex(),
        "trace_id": None if event.trace_id is None else event.trace_id.hex(),
        "span_id": None if event.span_id is None else event.span_id.hex(),
        "scope": event.scope,
        "name": event.name,
        "observed_ts_millis": event.observed_ts_millis,
        "body": event.body,
        "severity": event.severity,
        "attributes": _java_attributes(event.attributes),
    }


def test_java_reads_our_event_messages_and_writes_the_same_bytes(
    java_interop: Path, tmp_path: Path
) -> None:
    """BinaryMessageDecoder gets our golden events by the event fingerprint; the bytes match."""
    messages = _golden_messages(_EVENT_GOLDEN)
    schema_text = default_event_history().current.text
    seen = _java_reads(java_interop, tmp_path, "event", schema_text, messages)
    for (name, message), printed in zip(messages.items(), seen, strict=True):
        event = decode_event(message)
        assert printed["event"] == _java_event_view(event), name
        assert printed["reencoded_hex"] == message.hex(), name
        assert encode_event(event) == message, name
