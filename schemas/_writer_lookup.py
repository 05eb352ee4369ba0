"""Finding the writer schema of a message from its framing header (span and event codecs alike).

A single-object message names its writer by fingerprint, looked up in a :class:`SchemaHistory`;
a Confluent message names it by registry id, fetched from the registry once and remembered.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from spanstream.schemas._errors import DecodeError
from spanstream.schemas._framing import (
    CONFLUENT_HEADER_BYTES,
    CONFLUENT_MAGIC,
    SINGLE_OBJECT_HEADER_BYTES,
    SINGLE_OBJECT_MARKER,
    Framing,
)
from spanstream.schemas._schema_history import SchemaHistory, SchemaVersion

__all__ = ["SchemaRegistry", "WriterLookup"]


class SchemaRegistry(Protocol):
    """The two calls the codec makes on a Schema Registry client.

    ``confluent_kafka.schema_registry.SchemaRegistryClient`` (and its ``mock://`` client) fit.
    """

    def register_schema(self, subject_name: str, schema: Any) -> int:  # noqa: ANN401
        """Register ``schema`` (a ``confluent_kafka.schema_registry.Schema``); return its id."""
        ...

    def get_schema(self, schema_id: int) -> Any:  # noqa: ANN401
        """Return the ``Schema`` registered under ``schema_id``."""
        ...


# Per framing: what a message is called, what its header is called, the bytes it starts with,
# and the header's size.
_FRAMES: Final[dict[Framing, tuple[str, str, bytes, int]]] = {
    "single-object": (
        "an Avro single-object message",
        "single-object header",
        SINGLE_OBJECT_MARKER,
        SINGLE_OBJECT_HEADER_BYTES,
    ),
    "confluent": (
        "a Confluent wire-format message",
        "Confluent header",
        bytes([CONFLUENT_MAGIC]),
        CONFLUENT_HEADER_BYTES,
    ),
}


class WriterLookup:
    """The writer schema and body offset of a message, in one framing, over one history."""

    __slots__ = ("by_schema_id", "framing", "history", "registry")

    def __init__(
        self, framing: Framing, history: SchemaHistory, registry: SchemaRegistry | None
    ) -> None:
        self.framing = framing
        self.history = history
        self.registry = registry
        self.by_schema_id: dict[int, SchemaVersion] = {}

    def find(self, data: bytes) -> tuple[SchemaVersion, int]:
        """Return the writer schema of ``data`` and the offset its body starts at.

        Raises:
            DecodeError: ``bad-marker``, ``truncated``, ``unknown-fingerprint`` or
                ``unknown-schema-id``.
        """
        what, header, marker, header_bytes = _FRAMES[self.framing]
        if not data.startswith(marker):
            raise DecodeError(
                f"not {what}: starts with {data[: len(marker)].hex() or 'nothing'}",
                reason="bad-marker",
                raw=data,
            )
        if len(data) < header_bytes:
            raise DecodeError(
                f"{header} cut short at {len(data)} bytes",
                reason="truncated",
                raw=data,
            )
        if self.framing == "single-object":
            fingerprint = data[2:SINGLE_OBJECT_HEADER_BYTES]
            writer = self.history.by_fingerprint(fingerprint)
            if writer is None:
                raise DecodeError(
                    f"unknown schema fingerprint {fingerprint.hex()}",
                    reason="unknown-fingerprint",
                    raw=data,
                )
            return writer, SINGLE_OBJECT_HEADER_BYTES
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_BYTES], "big")
        writer = self.by_schema_id.get(schema_id)
        if writer is None:
            writer = self._lookup(schema_id, data)
        return writer, CONFLUENT_HEADER_BYTES

    def _lookup(self, schema_id: int, data: bytes) -> SchemaVersion:
        assert self.registry is not None
        try:
            text = self.registry.get_schema(schema_id).schema_str
            found = SchemaVersion.from_text(text, version=0)
        except Exception as exc:
            raise DecodeError(
                f"schema id {schema_id} is not an Avro schema in the registry: {exc}",
                reason="unknown-schema-id",
                raw=data,
            ) from exc
        # A released version is known by its fingerprint (and may take the fast path).
        writer = self.history.by_fingerprint(found.fingerprint) or found
        self.by_schema_id[schema_id] = writer
        return writer
