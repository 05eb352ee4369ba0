"""The Avro codec: Span to message bytes and back, in either framing.

Encoding uses the hand-written encoder (``_encoder``) for the current schema. Decoding finds the
writer schema (by fingerprint, or by registry id), reads the current schema's bodies with the
hand-written decoder (``_decoder``) and resolves any other version to the current reader schema
with fastavro, after a bounds-checking walk. Every failure to decode is a :class:`DecodeError`
whose ``reason`` says which: ``bad-marker``, ``unknown-fingerprint``, ``unknown-schema-id``,
``truncated``, ``malformed``, ``too-deep``, ``trailing-bytes`` or ``incompatible-schema``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any, Final

import fastavro

# The body's decoder and encoder in use (C or Python) are _implementation's; it chooses.
from spanstream.schemas import _implementation
from spanstream.schemas._decoder import BodyError, check_body, read_resolved, span_from_record
from spanstream.schemas._encoder import ENCODER_SCHEMA_CANONICAL_FORM
from spanstream.schemas._errors import ConfigError, DecodeError, EncodeError, ExtraMissingError
from spanstream.schemas._framing import (
    FRAMINGS,
    SINGLE_OBJECT_HEADER_BYTES,
    SINGLE_OBJECT_MARKER,
    Framing,
    confluent_header,
    single_object_header,
)
from spanstream.schemas._schema_history import SchemaHistory, SchemaVersion, default_history
from spanstream.schemas._span import Span
from spanstream.schemas._writer_lookup import SchemaRegistry, WriterLookup

__all__ = [
    "SCHEMA_FINGERPRINT",
    "SINGLE_OBJECT_MARKER",
    "SchemaRegistry",
    "SpanCodec",
    "decode_span",
    "encode_span",
    "encode_spans",
]


def span_to_record(span: Span) -> dict[str, Any]:
    """Return the span as the dict fastavro writes (the generic path and the tests use it)."""
    return {
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "scope": span.scope,
        "name": span.name,
        "start_ts_millis": span.start_ts_millis,
        "end_ts_millis": span.end_ts_millis,
        "attributes": dict(span.attributes),
        "children": [span_to_record(child) for child in span.children],
    }


class SpanCodec:
    """Encode spans to messages and decode them back, in one framing.

    Args:
        framing: ``"single-object"`` (default; Avro's own framing, no registry needed) or
            ``"confluent"`` (magic byte 0 and a 4-byte schema id from a Schema Registry).
        registry: the Schema Registry client, required for ``"confluent"``.
        subject: the registry subject the schema is registered under (e.g. ``spans-value``),
            required for ``"confluent"`` to encode; without one (``None``) the codec only
            decodes, looking writer schemas up by id (a consumer's case), and registers nothing.
        history: the schema versions known to the reader, the current one being the writer's and
            the reader's schema; the released versions by default (tests inject others).

    The length of an encoded message is ``len()`` of the bytes; limits are the caller's to apply.

    Example:
        >>> codec = SpanCodec()
        >>> span = Span.builder("my.Job", "Compaction").set_attribute("files", 3).build()
        >>> codec.decode(codec.encode(span)) == span
        True
    """

    __slots__ = ("_fast_current", "_fast_header", "_framing", "_header", "_history", "_writers")

    def __init__(
        self,
        *,
        framing: Framing = "single-object",
        registry: SchemaRegistry | None = None,
        subject: str | None = None,
        history: SchemaHistory | None = None,
    ) -> None:
        if framing not in FRAMINGS:
            raise ConfigError("framing", framing, " or ".join(FRAMINGS))
        self._framing = framing
        self._history = history if history is not None else default_history()
        current = self._history.current
        self._fast_current = current.canonical_form == ENCODER_SCHEMA_CANONICAL_FORM
        self._writers = WriterLookup(framing, self._history, registry)
        if framing == "single-object":
            self._header = single_object_header(current.fingerprint)
        else:
            if registry is None:
                raise ConfigError("registry", registry, "a Schema Registry client")
            if subject is None:
                self._header = b""  # a reader only: encode() refuses
            elif not subject:
                raise ConfigError("subject", subject, "a registry subject, e.g. '<topic>-value'")
            else:
                schema_id = register_schema(registry, subject, current, "span")
                self._writers.by_schema_id[schema_id] = current
                self._header = confluent_header(schema_id)
        # Messages that start with this header take the hand-written decoder straight away.
        self._fast_header = self._header if self._fast_current and self._header else None

    @property
    def framing(self) -> Framing:
        """The framing this codec writes and reads."""
        return self._framing

    @property
    def header(self) -> bytes:
        """The bytes every message this codec writes starts with."""
        return self._header

    @property
    def fast(self) -> bool:
        """Whether the current schema is the one the hand-written encoder and decoder know."""
        return self._fast_current

    @property
    def history(self) -> SchemaHistory:
        """The schema versions this codec reads; its current one is what it writes."""
        return self._history

    def encode(self, span: Span) -> bytes:
        """Return the framed Avro message for ``span``.

        Raises:
            EncodeError: a value does not fit the schema, or the codec only decodes.
        """
        if not self._header:
            raise EncodeError("a Confluent codec without a subject only decodes")
        if self._fast_current:
            return _implementation.encode_framed(span, self._header)
        return self._encode_generic(span)

    def encode_many(self, spans: Iterable[Span]) -> list[bytes]:
        """Return one framed message per span, in order.

        Raises:
            EncodeError: a value of some span does not fit the schema, or the codec only decodes.
        """
        header = self._header
        if not header:
            raise EncodeError("a Confluent codec without a subject only decodes")
        if self._fast_current:
            encode_framed = _implementation.encode_framed
            return [encode_framed(span, header) for span in spans]
        return [self._encode_generic(span) for span in spans]

    def _encode_generic(self, span: Span) -> bytes:
        buffer = io.BytesIO()
        buffer.write(self._header)
        try:
            fastavro.schemaless_writer(
                buffer, self._history.current.parsed_plain, span_to_record(span)
            )
        except Exception as exc:
            raise EncodeError(f"span cannot be encoded: {exc}") from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> Span:
        """Decode a message into the span it carries, resolved to the current schema.

        Raises:
            DecodeError: the bytes are not a span message of a known schema; its ``reason``
                says why and ``raw`` keeps the bytes.
        """
        fast = self._fast_header
        if fast is not None and type(data) is bytes and data.startswith(fast):
            try:
                return _implementation.decode_body(data, len(fast))
            except BodyError as exc:
                raise DecodeError(f"span message: {exc}", reason=exc.reason, raw=data) from exc
        data = as_bytes(data)
        writer, offset = self._writers.find(data)
        try:
            if writer is self._history.current and self._fast_current:
                return _implementation.decode_body(data, offset)
            return span_from_record(self._read_generic(data, offset, writer))
        except BodyError as exc:
            raise DecodeError(
                f"span message (schema v{writer.version}): {exc}", reason=exc.reason, raw=data
            ) from exc

    def decode_record(self, data: bytes) -> dict[str, Any]:
        """Decode a message into a dict of the current reader schema's fields (defaults filled).

        Unlike :meth:`decode`, fields a newer schema adds are kept; useful to inspect evolution.

        Raises:
            DecodeError: as :meth:`decode`.
        """
        data = as_bytes(data)
        writer, offset = self._writers.find(data)
        try:
            record: dict[str, Any] = self._read_generic(data, offset, writer)
        except BodyError as exc:
            raise DecodeError(f"span message: {exc}", reason=exc.reason, raw=data) from exc
        return record

    def _read_generic(self, data: bytes, offset: int, writer: SchemaVersion) -> Any:  # noqa: ANN401
        check_body(data, offset, writer.parsed_plain, dict(writer.named))
        return read_resolved(data, offset, writer.parsed_plain, self._history.current.parsed_plain)


def register_schema(
    registry: SchemaRegistry, subject: str, version: SchemaVersion, what: str
) -> int:
    """Register ``version`` under ``subject``; return its schema id.

    Raises:
        ExtraMissingError: the ``registry`` extra is not installed.
        EncodeError: the registry refused, or could not be reached.
    """
    try:
        from confluent_kafka.schema_registry import Schema
    except ImportError as exc:
        raise ExtraMissingError("Confluent Schema Registry framing", "registry") from exc
    try:
        return registry.register_schema(subject, Schema(version.text, "AVRO"))
    except Exception as exc:
        raise EncodeError(
            f"could not register the {what} schema under subject {subject!r}: {exc}"
        ) from exc


def as_bytes(data: object) -> bytes:
    """``data`` as bytes (a message may come as a bytearray or memoryview).

    Raises:
        DecodeError: ``malformed``: ``data`` is not bytes-like.
    """
    if isinstance(data, bytes):
        return data
    try:
        return bytes(data)  # type: ignore[call-overload,no-any-return]
    except TypeError as exc:
        raise DecodeError(
            f"a message must be bytes, not {type(data).__name__}", reason="malformed", raw=b""
        ) from exc


_DEFAULT_CODEC: Final = SpanCodec()
_HEADER: Final = _DEFAULT_CODEC.header
# The released current schema is the one the hand-written encoder and decoder are written for
# (tests/unit/test_codec_guard.py checks it); the generic path is only a safety net.
_FAST: Final = _DEFAULT_CODEC.fast

SCHEMA_FINGERPRINT: Final = default_history().current.fingerprint
"""The 8-byte CRC-64-AVRO fingerprint of ``span.avsc``, as it appears in message headers."""


def encode_span(span: Span) -> bytes:
    """Encode a span as an Avro single-object message (``C3 01``, fingerprint, body).

    Raises:
        EncodeError: a value does not fit the schema.
    """
    if _FAST:
        return _implementation.encode_framed(span, _HEADER)
    return _DEFAULT_CODEC.encode(span)


def encode_spans(spans: Iterable[Span]) -> list[bytes]:
    """Encode spans as single-object messages, one each, in order.

    Raises:
        EncodeError: a value of some span does not fit the schema.
    """
    return _DEFAULT_CODEC.encode_many(spans)


def decode_span(data: bytes) -> Span:
    """Decode an Avro single-object message of any released schema version into a span.

    Raises:
        DecodeError: the bytes are not a span message of a known schema; ``reason`` says why.
    """
    if _FAST and type(data) is bytes and data.startswith(_HEADER):
        try:
            return _implementation.decode_body(data, SINGLE_OBJECT_HEADER_BYTES)
        except BodyError as exc:
            raise DecodeError(f"span message: {exc}", reason=exc.reason, raw=data) from exc
    return _DEFAULT_CODEC.decode(data)
