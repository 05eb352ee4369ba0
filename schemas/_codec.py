"""The Avro codec (first cut: fastavro's generic writer and reader, single-object framing).

TODO(codec): replace with the fast type-dispatching encoder, schema history and evolution.
"""

from __future__ import annotations

import io
import json
from importlib import resources
from typing import Any, Final

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from spanstream.schemas._errors import DecodeError
from spanstream.schemas._span import Span

__all__ = ["SCHEMA_FINGERPRINT", "SINGLE_OBJECT_MARKER", "decode_span", "encode_span"]

SINGLE_OBJECT_MARKER: Final = b"\xc3\x01"


def _load_schema() -> dict[str, Any]:
    text = resources.files("spanstream.schemas").joinpath("span.avsc").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


_SCHEMA_JSON: Final = _load_schema()
_PARSED: Final = fastavro.parse_schema(_SCHEMA_JSON)
# The reader keeps epoch milliseconds as ints: the same schema without logical types (which the
# Parsing Canonical Form, and so the fingerprint, ignores anyway).
_READER: Final = fastavro.parse_schema(
    json.loads(json.dumps(_SCHEMA_JSON).replace('"logicalType": "timestamp-millis"', '"x": 0'))
)
SCHEMA_FINGERPRINT: Final = bytes.fromhex(
    fingerprint(to_parsing_canonical_form(_PARSED), "CRC-64-AVRO")
)
_HEADER: Final = SINGLE_OBJECT_MARKER + SCHEMA_FINGERPRINT


def _to_record(span: Span) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "scope": span.scope,
        "name": span.name,
        "start_ts_millis": span.start_ts_millis,
        "end_ts_millis": span.end_ts_millis,
        "attributes": dict(span.attributes),
        "children": [_to_record(child) for child in span.children],
    }


def _from_record(record: dict[str, Any]) -> Span:
    return Span(
        record["scope"],
        record["name"],
        record["start_ts_millis"],
        record["end_ts_millis"],
        record["attributes"],
        tuple(_from_record(child) for child in record["children"]),
        record["trace_id"],
        record["span_id"],
    )


def encode_span(span: Span) -> bytes:
    """Encode a span as an Avro single-object message (``C3 01``, fingerprint, body)."""
    buffer = io.BytesIO()
    buffer.write(_HEADER)
    fastavro.schemaless_writer(buffer, _PARSED, _to_record(span))
    return buffer.getvalue()


def decode_span(data: bytes) -> Span:
    """Decode an Avro single-object message back into the exact span.

    Raises:
        DecodeError: the bytes are not a span message of a known schema.
    """
    if data[:2] != SINGLE_OBJECT_MARKER:
        raise DecodeError("not an Avro single-object message", reason="bad-marker", raw=data)
    if data[2:10] != SCHEMA_FINGERPRINT:
        raise DecodeError(
            f"unknown schema fingerprint {data[2:10].hex()}", reason="unknown-fingerprint", raw=data
        )
    try:
        record = fastavro.schemaless_reader(io.BytesIO(data[10:]), _READER, None)
    except Exception as exc:
        raise DecodeError(f"malformed span body: {exc}", reason="malformed", raw=data) from exc
    return _from_record(record)  # type: ignore[arg-type]
