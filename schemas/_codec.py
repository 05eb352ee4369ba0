"""The Avro codec: Span to message bytes and back, in either framing.

Encoding uses the hand-written encoder (``_encoder``) for the current schema. Decoding finds the
writer schema (by fingerprint, or by registry id), reads the current schema's bodies with the
hand-written decoder (``_decoder``) and resolves any other version to the current reader schema
with fastavro, after a bounds-checking walk. Every failure to decode is a :class:`DecodeError`
whose ``reason`` says which: ``bad-marker``, ``unknown-fingerprint``, ``unknown-schema-id``,
``truncated``, ``malformed``, ``too-deep``, ``trailing-bytes`` or ``incompatible-schema``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

# The body's decoder and encoder in use (C or Python) are _implementation's; it chooses.
from spanstream.schemas import _implementation
from spanstream.schemas._decoder import BodyError, span_from_record
from spanstream.schemas._encoder import ENCODER_SCHEMA_CANONICAL_FORM
from spanstream.schemas._errors import EncodeError
from spanstream.schemas._framed_codec import FramedCodec, as_bytes, to_record
from spanstream.schemas._framing import SINGLE_OBJECT_HEADER_BYTES, SINGLE_OBJECT_MARKER
from spanstream.schemas._schema_history import default_history
from spanstream.schemas._span import SPAN_FIELDS, Span
from spanstream.schemas._writer_lookup import SchemaRegistry

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
    record = to_record(span, SPAN_FIELDS)
    record["children"] = [span_to_record(child) for child in span.children]
    return record


class SpanCodec(FramedCodec):
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

    __slots__ = ("_fast_current", "_fast_header")

    WHAT = "span"
    SUBJECT_OPTIONAL = True
    default_history = staticmethod(default_history)

    def _ready(self) -> None:
        self._fast_current = self._history.current.canonical_form == ENCODER_SCHEMA_CANONICAL_FORM
        # Messages that start with this header take the hand-written decoder straight away.
        self._fast_header = self._header if self._fast_current and self._header else None

    @property
    def fast(self) -> bool:
        """Whether the current schema is the one the hand-written encoder and decoder know."""
        return self._fast_current

    def encode(self, span: Span) -> bytes:
        """Return the framed Avro message for ``span``.

        Raises:
            EncodeError: a value does not fit the schema, or the codec only decodes.
        """
        if not self._header:
            raise EncodeError("a Confluent codec without a subject only decodes")
        if self._fast_current:
            return _implementation.encode_framed(span, self._header)
        return self._encode_record(span_to_record(span))

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
        return [self._encode_record(span_to_record(span)) for span in spans]

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
                raise self._decode_error(exc, data) from exc
        data = as_bytes(data)
        writer, offset = self._writers.find(data)
        try:
            if writer is self._history.current and self._fast_current:
                return _implementation.decode_body(data, offset)
            return span_from_record(self._read_generic(data, offset, writer))
        except BodyError as exc:
            raise self._decode_error(exc, data, writer) from exc


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
            raise _DEFAULT_CODEC._decode_error(exc, data) from exc
    return _DEFAULT_CODEC.decode(data)
