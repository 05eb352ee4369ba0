"""The optional Confluent Schema Registry framing, against confluent-kafka's mock:// client.

The mock client is a stand-in for the registry's HTTP API (no Kafka involved).
"""

from __future__ import annotations

import io
import json
import uuid

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from spanstream.schemas import ConfigError, DecodeError, EncodeError, Span, SpanCodec, encode_span
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._schema_history import default_history

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


_SPAN = (
    Span.builder("my.app.Job", "Checkpoint")
    .set_start_ts_millis(1_732_000_000_000)
    .set_attribute("checkpointId", 7)
    .set_attribute("status", "COMPLETED")
    .add_child(Span.builder("my.app.Job", "Task"))
    .build()
)


@pytest.fixture
def registry() -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})


def test_a_message_is_magic_zero_then_the_registered_schema_id(
    registry: SchemaRegistryClient,
) -> None:
    """The header is 0x00 and the 4-byte big-endian id the registry gave span.avsc."""
    codec = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    message = codec.encode(_SPAN)
    registered = registry.lookup_schema(
        "spans-value", Schema(default_history().current.text, "AVRO")
    )
    assert message[:1] == b"\x00"
    assert int.from_bytes(message[1:5], "big") == registered.schema_id
    assert message[5:] == encode_span(_SPAN)[10:]


def test_a_confluent_message_round_trips(registry: SchemaRegistryClient) -> None:
    """decode(encode(span)) == span in the Confluent framing."""
    codec = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    assert codec.decode(codec.encode(_SPAN)) == _SPAN


def test_another_codec_finds_the_writer_schema_by_id(registry: SchemaRegistryClient) -> None:
    """A reader that did not write the message looks the id up in the registry."""
    writer = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    reader = SpanCodec(framing="confluent", registry=registry, subject="other-value")
    assert reader.decode(writer.encode(_SPAN)) == _SPAN


def test_a_schema_only_the_registry_knows_is_resolved(registry: SchemaRegistryClient) -> None:
    """A newer writer schema (an added defaulted field) registered by someone else resolves."""
    newer = json.loads(default_history().current.text)
    newer["fields"].append({"name": "kind", "type": "string", "default": "INTERNAL", "doc": "x"})
    schema_id = registry.register_schema("spans-value", Schema(json.dumps(newer), "AVRO"))
    record = span_to_record(_SPAN)
    record["kind"] = "SERVER"
    record["children"][0]["kind"] = "SERVER"
    buffer = io.BytesIO()
    buffer.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(newer), record)
    reader = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    assert reader.decode(buffer.getvalue()) == _SPAN


def test_an_id_the_registry_does_not_know_is_unknown_schema_id(
    registry: SchemaRegistryClient,
) -> None:
    """A message naming an unregistered id is a DecodeError saying so."""
    codec = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    with pytest.raises(DecodeError) as caught:
        codec.decode(b"\x00\x00\x00\x03\xe7" + codec.encode(_SPAN)[5:])
    assert caught.value.reason == "unknown-schema-id"


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x00\x00\x01", b"\xc3\x01"])
def test_a_wrong_magic_byte_is_bad_marker(registry: SchemaRegistryClient, data: bytes) -> None:
    """Anything not opening with 0x00 is bad-marker in the Confluent framing."""
    codec = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    with pytest.raises(DecodeError) as caught:
        codec.decode(data)
    assert caught.value.reason == "bad-marker"


def test_a_cut_confluent_header_is_truncated(registry: SchemaRegistryClient) -> None:
    """Magic 0 with fewer than four id bytes is truncated."""
    codec = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    with pytest.raises(DecodeError) as caught:
        codec.decode(b"\x00\x00\x01")
    assert caught.value.reason == "truncated"


def test_confluent_framing_needs_a_registry_and_a_subject(registry: SchemaRegistryClient) -> None:
    """A missing registry or an empty subject is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match="registry"):
        SpanCodec(framing="confluent", subject="spans-value")
    with pytest.raises(ConfigError, match="subject"):
        SpanCodec(framing="confluent", registry=registry, subject="")


def test_a_confluent_codec_without_subject_only_decodes(registry: SchemaRegistryClient) -> None:
    """Without a subject the codec reads by schema id (a consumer's case) and refuses to encode."""
    writer = SpanCodec(framing="confluent", registry=registry, subject="spans-value")
    reader = SpanCodec(framing="confluent", registry=registry)
    assert reader.decode(writer.encode(_SPAN)) == _SPAN
    with pytest.raises(EncodeError, match="only decodes"):
        reader.encode(_SPAN)
