"""The codec: single-object framing, round trips, and every way a message can be bad."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanstream.schemas import (
    MAX_SPAN_DEPTH,
    SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    DecodeError,
    EncodeError,
    Span,
    SpanCodec,
    SpanTooDeepError,
    decode_span,
    encode_span,
    encode_spans,
)
from spanstream.schemas._encoder import _varint

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


_HEADER = SINGLE_OBJECT_MARKER + SCHEMA_FINGERPRINT
_IDS = b"\x01" * 16 + b"\x02" * 8


def _checkpoint() -> Span:
    return (
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_start_ts_millis(1_732_000_000_000)
        .set_end_ts_millis(1_732_000_001_500)
        .set_attribute("checkpointId", 42)
        .set_attribute("checkpointedSize", 123_456)
        .set_attribute("fullSize", 9_876_543)
        .set_attribute("checkpointStatus", "COMPLETED")
        .set_attribute("ratio", 0.25)
        .set_attribute("isUnaligned", False)
        .set_attribute("<job_id>", "a1b2c3d4e5f60718293a4b5c6d7e8f90")
        .add_child(Span.builder("t.Task", "Task").add_child(Span.builder("t.Sub", "Subtask")))
        .build()
    )


def _long(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


def _decode_error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decode_span(data)
    assert caught.value.raw == data
    return caught.value


def _nested(levels: int) -> bytes:
    # A forged body: `levels` spans each holding one child, then a leaf.
    level = _IDS + b"\x00\x00\x00\x00" + b"\x00" + b"\x02"
    leaf = _IDS + b"\x00\x00\x00\x00" + b"\x00" + b"\x00"
    return _HEADER + level * levels + leaf + b"\x00" * levels


def test_a_span_survives_the_round_trip_exactly() -> None:
    """decode(encode(span)) == span, children, bools and floats included."""
    span = _checkpoint()
    decoded = decode_span(encode_span(span))
    assert decoded == span
    assert type(decoded.attributes["isUnaligned"]) is bool


def test_a_message_is_the_single_object_header_then_the_body() -> None:
    """Every message starts with C3 01 and the schema's 8-byte fingerprint."""
    message = encode_span(_checkpoint())
    assert message[:2] == b"\xc3\x01"
    assert message[2:10] == SCHEMA_FINGERPRINT
    assert len(SCHEMA_FINGERPRINT) == 8


def test_encode_spans_encodes_each_span_like_encode_span() -> None:
    """The batch form gives one message per span, the same bytes as one at a time."""
    spans = [_checkpoint(), Span.builder("a.B", "c").build()]
    assert encode_spans(spans) == [encode_span(span) for span in spans]


def test_a_codec_decodes_bytearray_and_memoryview() -> None:
    """Bytes-like messages decode as bytes do."""
    message = encode_span(_checkpoint())
    assert decode_span(bytearray(message)) == decode_span(memoryview(message))  # type: ignore[arg-type]


def test_a_message_that_is_not_bytes_is_a_decode_error() -> None:
    """None (a tombstone) is a malformed message, not a TypeError."""
    with pytest.raises(DecodeError) as caught:
        decode_span(None)  # type: ignore[arg-type]
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize("data", [b"", b"\xc3", b"\xc3\x02" + SCHEMA_FINGERPRINT, b"\x00\x01"])
def test_a_wrong_marker_is_bad_marker(data: bytes) -> None:
    """Anything not opening with C3 01 is reported as bad-marker."""
    assert _decode_error(data).reason == "bad-marker"


def test_a_cut_header_is_truncated() -> None:
    """The marker with less than the 8 fingerprint bytes is truncated."""
    assert _decode_error(_HEADER[:7]).reason == "truncated"


def test_an_unknown_fingerprint_is_reported_with_its_hex() -> None:
    """A fingerprint of no known schema version is unknown-fingerprint, naming it."""
    error = _decode_error(SINGLE_OBJECT_MARKER + bytes(8) + encode_span(_checkpoint())[10:])
    assert error.reason == "unknown-fingerprint"
    assert "0000000000000000" in str(error)


def test_every_prefix_of_a_message_is_truncated() -> None:
    """Cutting a valid message anywhere after its header is reported as truncated."""
    message = encode_span(_checkpoint())
    for cut in range(10, len(message)):
        assert _decode_error(message[:cut]).reason == "truncated", cut


def test_bytes_after_the_span_are_trailing_bytes() -> None:
    """A body followed by anything is trailing-bytes, not silently accepted."""
    assert _decode_error(encode_span(_checkpoint()) + b"\x00").reason == "trailing-bytes"


def test_a_forged_huge_string_length_fails_fast_as_truncated() -> None:
    """A length of 2**62 is checked against the bytes left before anything is allocated."""
    assert _decode_error(_HEADER + _IDS + _long(2**62) + b"abc").reason == "truncated"


def test_a_forged_negative_string_length_is_malformed() -> None:
    """A negative length is malformed."""
    assert _decode_error(_HEADER + _IDS + _long(-5) + b"abc").reason == "malformed"


def test_a_forged_huge_attribute_count_fails_fast_as_truncated() -> None:
    """A map claiming 2**60 entries in a few bytes is truncated before any loop runs."""
    body = _IDS + b"\x00\x00\x00\x00" + _long(2**60) + b"\x00" * 10
    assert _decode_error(_HEADER + body).reason == "truncated"


def test_a_forged_huge_children_count_fails_fast_as_truncated() -> None:
    """An array claiming 2**40 children in a few bytes is truncated."""
    body = _IDS + b"\x00\x00\x00\x00" + b"\x00" + _long(2**40) + b"\x00" * 40
    assert _decode_error(_HEADER + body).reason == "truncated"


def test_a_varint_longer_than_ten_bytes_is_malformed() -> None:
    """An endless run of continuation bits is malformed, not a hang."""
    body = _IDS + b"\x00\x00" + b"\xff" * 20 + b"\x01"
    assert _decode_error(_HEADER + body).reason == "malformed"


def test_an_unknown_union_branch_is_malformed() -> None:
    """An attribute whose union branch is not one of the four types is malformed."""
    body = _IDS + b"\x00\x00\x00\x00" + b"\x02" + b"\x02k" + b"\x08" + b"\x00" + b"\x00"
    assert _decode_error(_HEADER + body).reason == "malformed"


def test_a_boolean_byte_other_than_0_or_1_is_malformed() -> None:
    """Avro booleans are one byte, 0 or 1."""
    body = _IDS + b"\x00\x00\x00\x00" + b"\x02" + b"\x02k" + b"\x06\x07" + b"\x00" + b"\x00"
    assert _decode_error(_HEADER + body).reason == "malformed"


def test_invalid_utf8_is_malformed() -> None:
    """A scope that is not UTF-8 is malformed."""
    assert _decode_error(_HEADER + _IDS + b"\x04\xff\xfe" + b"\x00" * 6).reason == "malformed"


def test_nesting_at_the_limit_decodes() -> None:
    """A tree exactly MAX_SPAN_DEPTH levels deep round-trips."""
    message = _nested(MAX_SPAN_DEPTH)
    span = decode_span(message)
    assert max(depth for _, _, depth in span.walk()) == MAX_SPAN_DEPTH
    assert encode_span(span) == message


@pytest.mark.parametrize("levels", [MAX_SPAN_DEPTH + 1, 50_000])
def test_nesting_deeper_than_the_limit_is_too_deep(levels: int) -> None:
    """A forged deep tree is too-deep, never a RecursionError or a crash."""
    assert _decode_error(_nested(levels)).reason == "too-deep"


def test_negative_block_counts_with_a_size_are_read() -> None:
    """Avro's blocked form (negative count, then byte size), as Java may write it, decodes."""
    entry = b"\x02k" + b"\x02" + _long(7)
    body = _IDS + b"\x02s\x02n\x00\x00" + _long(-1) + _long(len(entry)) + entry + b"\x00\x00"
    span = decode_span(_HEADER + body)
    assert dict(span.attributes) == {"k": 7}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_after_the_header_is_only_ever_a_decode_error(garbage: bytes) -> None:
    """Random bodies raise DecodeError (or decode), never another exception."""
    reason = None
    try:
        decode_span(_HEADER + garbage)
    except DecodeError as error:
        reason = error.reason
    assert reason in {None, "truncated", "malformed", "too-deep", "trailing-bytes"}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_corrupted_message_is_only_ever_a_decode_error(data: st.DataObject) -> None:
    """Flipping bytes of a valid message gives DecodeError or some span, nothing else."""
    message = bytearray(encode_span(_checkpoint()))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(10, len(message) - 1))
        message[index] = data.draw(st.integers(0, 255))
    with contextlib.suppress(DecodeError):
        decode_span(bytes(message))


def test_a_long_out_of_range_is_an_encode_error() -> None:
    """A hand-made span with a 65-bit attribute fails with EncodeError."""
    span = Span("a.B", "c", 0, 0, {"big": 2**63}, (), bytes(16), bytes(8))
    with pytest.raises(EncodeError):
        encode_span(span)


def test_a_timestamp_out_of_range_is_an_encode_error() -> None:
    """A hand-made span with a start below -2**63 fails with EncodeError."""
    span = Span("a.B", "c", -(2**63) - 1, 0, {}, (), bytes(16), bytes(8))
    with pytest.raises(EncodeError):
        encode_span(span)


def test_a_lone_surrogate_is_an_encode_error() -> None:
    """A string that is not encodable as UTF-8 fails with EncodeError."""
    span = Span("a.B", "c", 0, 0, {"k": "\ud800"}, (), bytes(16), bytes(8))
    with pytest.raises(EncodeError):
        encode_span(span)


def test_an_attribute_of_another_type_is_an_encode_error() -> None:
    """A hand-made span holding a list fails with EncodeError naming the key."""
    span = Span("a.B", "c", 0, 0, {"k": [1]}, (), bytes(16), bytes(8))  # type: ignore[dict-item]
    with pytest.raises(EncodeError, match="'k'"):
        encode_span(span)


def test_subclasses_of_attribute_types_encode_as_their_base_type() -> None:
    """An IntEnum value is written as a long, as fastavro would."""
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    span = Span("a.B", "c", 0, 0, {"level": Level.HIGH}, (), bytes(16), bytes(8))
    assert dict(decode_span(encode_span(span)).attributes) == {"level": 3}


def test_a_hand_made_tree_deeper_than_the_limit_fails_to_encode() -> None:
    """The encoder refuses trees deeper than MAX_SPAN_DEPTH with SpanTooDeepError."""
    span = Span("a.B", "leaf", 0, 0, {}, (), bytes(16), bytes(8))
    for _ in range(MAX_SPAN_DEPTH + 1):
        span = Span("a.B", "c", 0, 0, {}, (span,), bytes(16), bytes(8))
    with pytest.raises(SpanTooDeepError):
        encode_span(span)


def test_nan_round_trips_as_nan() -> None:
    """NaN keeps being NaN (and a float), infinities keep their sign."""
    span = Span("a.B", "c", 0, 0, {"n": math.nan, "i": -math.inf}, (), bytes(16), bytes(8))
    attributes = decode_span(encode_span(span)).attributes
    assert math.isnan(attributes["n"])  # type: ignore[arg-type]
    assert attributes["i"] == -math.inf


def test_an_unknown_framing_is_a_config_error() -> None:
    """SpanCodec rejects a framing it does not know, naming the accepted ones."""
    from spanstream.schemas import ConfigError

    with pytest.raises(ConfigError, match="single-object or confluent"):
        SpanCodec(framing="protobuf")  # type: ignore[arg-type]
