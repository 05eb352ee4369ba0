"""The event codec: events to single-object (or Confluent) messages and back, told from spans."""

from __future__ import annotations

import uuid
from types import MappingProxyType

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    SCHEMA_FINGERPRINT,
    DecodeError,
    EncodeError,
    Event,
    EventCodec,
    Span,
    decode_event,
    decode_span,
    encode_event,
    encode_span,
    new_event_id,
)

_EVENT = (
    Event.builder("my.app.Job", "Rescaled")
    .set_observed_ts_millis(1_732_000_000_000)
    .set_body("from 2 to 4")
    .set_severity("INFO")
    .set_attribute("parallelism", 4)
    .set_attribute("ratio", 0.5)
    .set_attribute("manual", True)
    .build(variables={"<job_id>": "a1b2"})
)


def test_an_event_round_trips() -> None:
    """decode_event(encode_event(event)) == event, attributes' types and all."""
    decoded = decode_event(encode_event(_EVENT))
    assert decoded == _EVENT
    assert [type(v) for v in decoded.attributes.values()] == [int, float, bool, str]


def test_the_ids_of_an_enclosing_span_round_trip() -> None:
    """An event reported inside a span keeps that span's trace and span ids."""
    span = Span.builder("my.app.Job", "Step").build()
    event = Event.builder("my.app.Job", "Note").build(trace_id=span.trace_id, span_id=span.span_id)
    decoded = decode_event(encode_event(event))
    assert (decoded.trace_id, decoded.span_id) == (span.trace_id, span.span_id)


def test_an_event_message_opens_with_the_event_fingerprint() -> None:
    """C3 01 and the event schema's fingerprint, which is not the span schema's."""
    assert encode_event(_EVENT)[:10] == b"\xc3\x01" + EVENT_SCHEMA_FINGERPRINT
    assert EVENT_SCHEMA_FINGERPRINT != SCHEMA_FINGERPRINT


def test_a_span_message_is_not_an_event() -> None:
    """decode_event of a span message fails with unknown-fingerprint, and keeps the bytes."""
    message = encode_span(Span.builder("my.app.Job", "Step").build())
    with pytest.raises(DecodeError) as caught:
        decode_event(message)
    assert caught.value.reason == "unknown-fingerprint"
    assert caught.value.raw == message


def test_an_event_message_is_not_a_span() -> None:
    """decode_span of an event message fails with unknown-fingerprint."""
    with pytest.raises(DecodeError) as caught:
        decode_span(encode_event(_EVENT))
    assert caught.value.reason == "unknown-fingerprint"


@pytest.mark.parametrize("cut", [10, 11, 26, -1])
def test_a_truncated_event_message_is_a_decode_error(cut: int) -> None:
    """An event message cut short anywhere in its body fails as truncated or malformed."""
    message = encode_event(_EVENT)[:cut]
    with pytest.raises(DecodeError) as caught:
        decode_event(message)
    assert caught.value.reason in {"truncated", "malformed"}


def test_trailing_bytes_after_an_event_are_a_decode_error() -> None:
    """Bytes after the event body fail with trailing-bytes."""
    with pytest.raises(DecodeError) as caught:
        decode_event(encode_event(_EVENT) + b"\x00")
    assert caught.value.reason == "trailing-bytes"


def test_an_attribute_the_schema_cannot_hold_is_an_encode_error() -> None:
    """An Event built by hand with a value of no Avro branch raises EncodeError."""
    event = Event("s", "n", 1, "", "", MappingProxyType({"x": [1]}), new_event_id())  # type: ignore[dict-item]
    with pytest.raises(EncodeError):
        encode_event(event)


def test_the_confluent_framing_round_trips_events() -> None:
    """EventCodec with a (mock) registry writes magic 0 and the event schema's id, and reads it."""
    registry = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})
    codec = EventCodec(framing="confluent", registry=registry, subject="flink-events-value")
    message = codec.encode(_EVENT)
    assert message[:1] == b"\x00"
    assert message[5:] == encode_event(_EVENT)[10:]
    assert codec.decode(message) == _EVENT


def test_the_header_names_live_in_the_contract() -> None:
    """The producer's header names are the schemas' (one definition, readable by consumers)."""
    import spanstream.producer as producer
    import spanstream.schemas as schemas

    for name in ("CONTENT_TYPE", "HEADER_CONTENT_TYPE", "HEADER_PRODUCER"):
        assert getattr(producer, name) is getattr(schemas, name)
    assert producer.HEADER_SCHEMA_FINGERPRINT is schemas.HEADER_SCHEMA_FINGERPRINT
