"""The codec core that spans and events share: framing, history, writer lookup, generic path.

The generic path is fastavro's writer, and its resolving reader after the bounds-checking walk.
:class:`~spanstream.schemas.SpanCodec` adds its hand-written fast path for the current span
schema; :class:`~spanstream.schemas.EventCodec` uses the core as it is.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import fastavro

from spanstream.schemas._decoder import BodyError, check_body, read_resolved
from spanstream.schemas._errors import ConfigError, DecodeError, EncodeError, ExtraMissingError
from spanstream.schemas._framing import FRAMINGS, Framing, confluent_header, single_object_header
from spanstream.schemas._schema_history import SchemaHistory, SchemaVersion
from spanstream.schemas._writer_lookup import SchemaRegistry, WriterLookup

__all__ = ["FramedCodec", "as_bytes", "register_schema", "to_record"]


def to_record(value: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """``value`` (a Span or an Event) as a dict of its ``fields``, attributes as a plain dict."""
    record = {name: getattr(value, name) for name in fields}
    record["attributes"] = dict(record["attributes"])
    return record


class FramedCodec:
    """Encode records to messages and decode them back, in one framing, over one history.

    A subclass names what it carries (:attr:`WHAT`), its released history
    (:meth:`default_history`) and whether a Confluent codec may go without a subject, then
    decoding only (:attr:`SUBJECT_OPTIONAL`); its docstring documents the arguments.
    """

    __slots__ = ("_framing", "_header", "_history", "_writers")

    WHAT: ClassVar[str] = "record"
    """What a message carries, for error messages (``"span"``, ``"event"``)."""
    SUBJECT_OPTIONAL: ClassVar[bool] = False
    """Whether a Confluent codec without a subject is accepted (it only decodes)."""

    @staticmethod
    def default_history() -> SchemaHistory:
        """The released schema versions, used when no history is given."""
        raise NotImplementedError

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
        self._history = history = history if history is not None else self.default_history()
        self._writers = WriterLookup(framing, history, registry)
        self._header = self._make_header(registry, subject)
        self._ready()

    def _make_header(self, registry: SchemaRegistry | None, subject: str | None) -> bytes:
        """The framing header of this codec's messages (registering the schema if Confluent)."""
        current = self._history.current
        if self._framing == "single-object":
            return single_object_header(current.fingerprint)
        if registry is None:
            raise ConfigError("registry", registry, "a Schema Registry client")
        if subject is None and self.SUBJECT_OPTIONAL:
            return b""  # a reader only: encode() refuses
        if not subject:
            raise ConfigError("subject", subject, "a registry subject, e.g. '<topic>-value'")
        schema_id = register_schema(registry, subject, current, self.WHAT)
        self._writers.by_schema_id[schema_id] = current
        return confluent_header(schema_id)

    def _ready(self) -> None:
        """Set up what a subclass adds, once the framing, history and header are known."""

    @property
    def framing(self) -> Framing:
        """The framing this codec writes and reads."""
        return self._framing

    @property
    def header(self) -> bytes:
        """The bytes every message this codec writes starts with."""
        return self._header

    @property
    def history(self) -> SchemaHistory:
        """The schema versions this codec reads; its current one is what it writes."""
        return self._history

    def _encode_record(self, record: dict[str, Any]) -> bytes:
        """The framed message of ``record`` (a dict of the current schema), written by fastavro.

        Raises:
            EncodeError: a value does not fit the schema.
        """
        buffer = io.BytesIO()
        buffer.write(self._header)
        try:
            fastavro.schemaless_writer(buffer, self._history.current.parsed_plain, record)
        except Exception as exc:
            raise EncodeError(f"{self.WHAT} cannot be encoded: {exc}") from exc
        return buffer.getvalue()

    def decode_record(self, data: bytes) -> dict[str, Any]:
        """Decode a message into a dict of the current reader schema's fields (defaults filled).

        Fields a newer schema adds are kept; useful to inspect evolution.

        Raises:
            DecodeError: the bytes are not a message of a known schema; its ``reason`` says why
                and ``raw`` keeps the bytes.
        """
        data = as_bytes(data)
        writer, offset = self._writers.find(data)
        try:
            record: dict[str, Any] = self._read_generic(data, offset, writer)
        except BodyError as exc:
            raise self._decode_error(exc, data, writer) from exc
        return record

    def _read_generic(self, data: bytes, offset: int, writer: SchemaVersion) -> Any:  # noqa: ANN401
        """The body read with the writer schema and resolved to the current one, after the walk."""
        check_body(data, offset, writer.parsed_plain, dict(writer.named))
        return read_resolved(data, offset, writer.parsed_plain, self._history.current.parsed_plain)

    def _decode_error(
        self, exc: BodyError, data: bytes, writer: SchemaVersion | None = None
    ) -> DecodeError:
        """The DecodeError for a body that does not decode (naming the writer version if known)."""
        where = "" if writer is None else f" (schema v{writer.version})"
        return DecodeError(f"{self.WHAT} message{where}: {exc}", reason=exc.reason, raw=data)


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
