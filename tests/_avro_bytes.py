"""Hand-written Avro bytes that both decoders must treat alike (shared by the decoder tests)."""

from __future__ import annotations

from typing import Final

EDGE_VARINTS: Final = {
    "varint of 10 bytes, last 1": b"\xff" * 9 + b"\x01",
    "varint of 10 bytes, last 2": b"\xff" * 9 + b"\x02",
    "varint of 11 bytes": b"\xff" * 10 + b"\x00",
    "varint cut at 9 bytes": b"\xff" * 9,
    "negative single-byte length": b"\x01",
    "negative multi-byte length": b"\x81\x01",
    "zero written long": b"\x80\x00",
}
"""Boundary varints (10 bytes, 64 bits, negative lengths, padded zeros), by label."""

SPAN_BODY_FIELDS: Final = (b"\x02s", b"\x02n", b"\x02", b"\x04", b"\x02\x02k\x02\x06\x00", b"\x00")
"""A small span body after its ids: scope, name, start, end, attributes, children."""
