"""Schema evolution both ways, with a test-only v2 that adds a defaulted field."""

from __future__ import annotations

import io
import json

import fastavro
import pytest

from spanstream.schemas import (
    MAX_SPAN_DEPTH,
    SINGLE_OBJECT_MARKER,
    DecodeError,
    SchemaHistory,
    SchemaVersion,
    Span,
    SpanCodec,
    decode_span,
    encode_span,
)
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._schema_history import default_history

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


V1 = default_history().current


def _v2_text() -> str:
    schema = json.loads(V1.text)
    schema["fields"].append(
        {
            "name": "kind",
            "type": "string",
            "default": "INTERNAL",
            "doc": "Test-only v2 field: OpenTelemetry's span kind.",
        }
    )
    return json.dumps(schema)


V2 = SchemaVersion.from_text(_v2_text(), version=2)
V1_READER = SpanCodec(history=SchemaHistory([V1, V2], current=1))
V2_READER = SpanCodec(history=SchemaHistory([V1, V2], current=2))


_SPAN = (
    Span.builder("my.app.Job", "Checkpoint")
    .set_start_ts_millis(1_732_000_000_000)
    .set_attribute("checkpointId", 7)
    .set_attribute("ok", True)
    .add_child(Span.builder("my.app.Job", "Task").set_attribute("ratio", 0.5))
    .build()
)


def _span() -> Span:
    return _SPAN


def _with_kind(record: dict[str, object], kind: str) -> dict[str, object]:
    children = record["children"]
    assert isinstance(children, list)
    return {**record, "kind": kind, "children": [_with_kind(c, kind) for c in children]}


def _v2_message(span: Span, kind: str = "SERVER") -> bytes:
    buffer = io.BytesIO()
    buffer.write(SINGLE_OBJECT_MARKER + V2.fingerprint)
    fastavro.schemaless_writer(buffer, V2.parsed, _with_kind(span_to_record(span), kind))
    return buffer.getvalue()


def test_the_test_v2_schema_has_its_own_fingerprint() -> None:
    """Adding a field changes the canonical form and so the fingerprint."""
    assert V2.fingerprint != V1.fingerprint


def test_a_v1_reader_decodes_v2_messages_dropping_the_new_field() -> None:
    """Bytes a newer writer wrote resolve to the v1 reader: the span, the new field ignored."""
    assert V1_READER.decode(_v2_message(_span())) == _span()


def test_a_v2_reader_decodes_v1_messages_filling_the_default() -> None:
    """Bytes the v1 writer wrote resolve to the v2 reader, with the new field's default."""
    message = encode_span(_span())
    record = V2_READER.decode_record(message)
    assert record["kind"] == "INTERNAL"
    assert record["children"][0]["kind"] == "INTERNAL"
    assert V2_READER.decode(message) == _span()


def test_a_v2_reader_reads_its_own_messages_with_the_new_field() -> None:
    """Same-version generic path: the v2 field is kept."""
    record = V2_READER.decode_record(_v2_message(_span(), "CLIENT"))
    assert record["kind"] == "CLIENT"


def test_a_v2_writer_codec_writes_messages_a_v1_reader_reads() -> None:
    """A codec whose current schema is v2 writes v2 (default filled); v1 readers resolve it."""
    message = V2_READER.encode(_span())
    assert message[2:10] == V2.fingerprint
    assert V2_READER.encode_many([_span()]) == [message]
    assert V1_READER.decode(message) == _span()


def test_the_released_history_does_not_know_the_test_v2() -> None:
    """The shipped codec reports a v2 message as unknown-fingerprint."""
    with pytest.raises(DecodeError) as caught:
        decode_span(_v2_message(_span()))
    assert caught.value.reason == "unknown-fingerprint"


def test_every_prefix_of_a_v2_message_is_truncated_on_the_generic_path() -> None:
    """The generic path checks bounds too: cuts are truncated, never another exception."""
    message = _v2_message(_span())
    for cut in range(10, len(message)):
        with pytest.raises(DecodeError) as caught:
            V1_READER.decode(message[:cut])
        assert caught.value.reason == "truncated", cut


def test_trailing_bytes_on_the_generic_path() -> None:
    """A v2 body followed by more bytes is trailing-bytes."""
    with pytest.raises(DecodeError) as caught:
        V1_READER.decode(_v2_message(_span()) + b"\x00")
    assert caught.value.reason == "trailing-bytes"


@pytest.mark.parametrize("levels", [MAX_SPAN_DEPTH + 1, 50_000])
def test_a_forged_deep_v2_tree_is_too_deep_not_a_crash(levels: int) -> None:
    """fastavro's compiled reader would crash on this; the checking walk stops it first."""
    level = b"\x01" * 24 + b"\x00\x00\x00\x00" + b"\x00" + b"\x02"
    leaf = b"\x01" * 24 + b"\x00\x00\x00\x00" + b"\x00" + b"\x00"
    tail = b"\x00"  # the leaf's kind (empty string)
    body = level * levels + leaf + tail + (b"\x00" + b"\x00") * levels
    with pytest.raises(DecodeError) as caught:
        V1_READER.decode(SINGLE_OBJECT_MARKER + V2.fingerprint + body)
    assert caught.value.reason == "too-deep"


def test_a_v2_tree_at_the_depth_limit_decodes_on_the_generic_path() -> None:
    """The generic path admits exactly MAX_SPAN_DEPTH levels, as the fast one does."""
    span = Span("a.B", "leaf", 0, 0, {}, (), bytes(16), bytes(8))
    for _ in range(MAX_SPAN_DEPTH):
        span = Span("a.B", "c", 0, 0, {}, (span,), bytes(16), bytes(8))
    assert V1_READER.decode(_v2_message(span)) == span


def test_history_rejects_a_current_version_it_does_not_hold() -> None:
    """SchemaHistory names a current version that is one of its versions."""
    with pytest.raises(ValueError, match="current version 3"):
        SchemaHistory([V1, V2], current=3)
