"""The hand-written encoder and decoder agree with fastavro, byte for byte, on generated spans."""

from __future__ import annotations

import io

import fastavro
import pytest
from _spans import span_trees
from hypothesis import given, settings
from hypothesis import strategies as st

from spanstream.schemas import Span, _implementation, decode_span, encode_span
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._decoder import span_from_record
from spanstream.schemas._schema_history import default_history

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


def decode_body(data: bytes, offset: int) -> Span:
    return _implementation.decode_body(data, offset)  # the implementation in use


def encode_body(span: Span) -> bytes:
    return _implementation.encode_framed(span, b"")  # the implementation in use


_WRITER = default_history().current.parsed
_READER = default_history().current.parsed_plain

_LONGS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-70, 70),
    st.sampled_from([-(2**63), 2**63 - 1, 2**31, -(2**31) - 1, 8191, 8192, -8192, -8193]),
)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "COMPLETED", "x" * 300, "🚀"]),
    _LONGS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
_KEYS = st.one_of(st.text(max_size=20), st.sampled_from(["<job_id>", "checkpointId", ""]))


_SPANS = span_trees(
    scopes=st.text(max_size=60),
    names=st.text(max_size=30),
    starts=_LONGS,
    ends=_LONGS,
    attributes=st.dictionaries(_KEYS, _VALUES, max_size=12),
    max_leaves=12,
)


def _fastavro_bytes(span: Span) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _WRITER, span_to_record(span))
    return buffer.getvalue()


@settings(max_examples=400, deadline=None)
@given(_SPANS)
def test_the_encoder_writes_exactly_what_fastavro_writes(span: Span) -> None:
    """Identical bytes to fastavro's schemaless_writer for the same schema and span."""
    assert encode_body(span) == _fastavro_bytes(span)


@settings(max_examples=400, deadline=None)
@given(_SPANS)
def test_the_decoder_reads_what_fastavro_writes(span: Span) -> None:
    """Our decoder gives back the span from fastavro's bytes."""
    assert decode_body(_fastavro_bytes(span), 0) == span


@settings(max_examples=400, deadline=None)
@given(_SPANS)
def test_fastavro_reads_what_the_encoder_writes(span: Span) -> None:
    """fastavro's reader gives the same record as the span, from our bytes."""
    record = fastavro.schemaless_reader(io.BytesIO(encode_body(span)), _READER, None)
    assert decode_body(_fastavro_bytes(span), 0) == span
    assert span_from_record(record) == span


@settings(max_examples=200, deadline=None)
@given(_SPANS)
def test_the_round_trip_is_exact(span: Span) -> None:
    """decode_span(encode_span(span)) == span for any span."""
    assert decode_span(encode_span(span)) == span
