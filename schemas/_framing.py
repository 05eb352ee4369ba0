"""Message framings: how a message names the schema its body was written with.

* Avro single-object encoding (the default): ``C3 01``, then the 8-byte little-endian
  CRC-64-AVRO fingerprint of the schema's Parsing Canonical Form, then the body. Any Avro
  implementation reads it with no registry (Java: ``BinaryMessageDecoder``).
* Confluent Schema Registry wire format: magic byte ``0``, the 4-byte big-endian schema id,
  then the body.
"""

from __future__ import annotations

from typing import Final, Literal

from spanstream.schemas._errors import SpanValueError

__all__ = [
    "CONFLUENT_HEADER_BYTES",
    "CONFLUENT_MAGIC",
    "FRAMINGS",
    "SINGLE_OBJECT_HEADER_BYTES",
    "SINGLE_OBJECT_MARKER",
    "Framing",
    "confluent_header",
    "single_object_header",
]

Framing = Literal["single-object", "confluent"]
"""The framings a :class:`~spanstream.schemas.SpanCodec` writes and reads."""

FRAMINGS: Final[tuple[Framing, ...]] = ("single-object", "confluent")

SINGLE_OBJECT_MARKER: Final = b"\xc3\x01"
"""The two bytes that open every Avro single-object message."""

SINGLE_OBJECT_HEADER_BYTES: Final = 10
CONFLUENT_MAGIC: Final = 0
CONFLUENT_HEADER_BYTES: Final = 5


def single_object_header(schema_fingerprint: bytes) -> bytes:
    """Return the 10-byte single-object header for an 8-byte CRC-64-AVRO fingerprint."""
    if len(schema_fingerprint) != 8:
        raise SpanValueError(
            f"a CRC-64-AVRO fingerprint has 8 bytes, not {len(schema_fingerprint)}"
        )
    return SINGLE_OBJECT_MARKER + schema_fingerprint


def confluent_header(schema_id: int) -> bytes:
    """Return the 5-byte Confluent wire-format header for a registry schema id."""
    return bytes((CONFLUENT_MAGIC,)) + schema_id.to_bytes(4, "big")
