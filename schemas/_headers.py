"""The record headers of the wire contract: what a reporter puts on a record beside the value.

They live here, with the schemas, so the consumer can read them without the producer. Every
header is optional (a reporter's ``headers`` key chooses them); the value alone is the contract,
since its single-object header names the schema. The fingerprint header repeats that schema's
fingerprint as 16 lowercase hex digits: :data:`SCHEMA_FINGERPRINT` on a span record,
:data:`EVENT_SCHEMA_FINGERPRINT` on an event record, so a record says whether it is an event
without its value being read.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CONTENT_TYPE", "HEADER_CONTENT_TYPE", "HEADER_PRODUCER", "HEADER_SCHEMA_FINGERPRINT"]

HEADER_CONTENT_TYPE: Final = "content-type"
"""The name of the header that carries :data:`CONTENT_TYPE`."""

HEADER_SCHEMA_FINGERPRINT: Final = "spanstream-schema-fingerprint"
"""The name of the header that carries the value's schema fingerprint, in hex."""

HEADER_PRODUCER: Final = "spanstream-producer"
"""The name of the header that carries ``spanstream/<version>`` of the writing library."""

CONTENT_TYPE: Final = "application/vnd.apache.avro+binary; framing=single-object"
"""The ``content-type`` header: an Avro single-object message (``C3 01``, fingerprint, body)."""
