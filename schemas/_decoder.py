"""Span decoders: a fast hand-written one for the current schema, a checked generic path for others.

Both treat their input as hostile. Every length and count is checked against the bytes that
remain before anything is allocated, nesting is limited to :data:`MAX_SPAN_DEPTH`, and every
failure is a :class:`BodyError` with a machine-readable reason, which the codec turns into a
``DecodeError`` carrying the raw message.

The generic path (a writer schema other than the current one, resolved to the reader's schema)
first walks the body with :func:`check_body`, a bounds-checking, depth-limited validator driven
by the writer schema, and only then hands it to fastavro's resolving reader: fastavro's compiled
reader trusts lengths and recurses without limit (a forged deep tree crashes the interpreter).
"""

from __future__ import annotations

import io
import struct
from types import MappingProxyType
from typing import Any, Final

import fastavro

# _new_span: Span's positional constructor (SPAN_FIELDS) without __post_init__'s checks; the
# decoder builds exact types (a read-only attributes proxy, a tuple of children, sized ids).
from spanstream.schemas._span import MAX_SPAN_DEPTH, AttributeValue, Span, _new_span

__all__ = ["BodyError", "check_body", "decode_body", "read_resolved", "span_from_record"]

_unpack_double: Final = struct.Struct("<d").unpack_from
_EMPTY: Final[MappingProxyType[str, AttributeValue]] = MappingProxyType({})
_MIN_ENTRY_BYTES: Final = 3  # key length, union branch, one byte of value at least
_MIN_SPAN_BYTES: Final = 30  # two ids, four one-byte fields, two empty blocks
_MAX_VARINT_SHIFT: Final = 63


class BodyError(Exception):
    """An Avro body that does not decode; ``reason`` is one of the DecodeError reasons."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


def _varint_loop(data: bytes, pos: int, first: int) -> tuple[int, int]:
    z = first & 0x7F
    shift = 7
    while True:
        byte = data[pos]
        pos += 1
        z |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > _MAX_VARINT_SHIFT:
            raise BodyError("malformed", f"varint longer than 10 bytes at offset {pos}")
    if z >> 64:
        raise BodyError("malformed", f"varint beyond 64 bits at offset {pos}")
    return z, pos


def _varint_rest(data: bytes, pos: int, first: int) -> tuple[int, int]:
    """Finish a varint whose first byte (``first``) had the continuation bit; return (z, pos)."""
    # Unrolled up to six bytes (epoch-millisecond timestamps take six).
    byte = data[pos]
    z = (first & 0x7F) | (byte & 0x7F) << 7
    if byte < 0x80:
        return z, pos + 1
    byte = data[pos + 1]
    z |= (byte & 0x7F) << 14
    if byte < 0x80:
        return z, pos + 2
    byte = data[pos + 2]
    z |= (byte & 0x7F) << 21
    if byte < 0x80:
        return z, pos + 3
    byte = data[pos + 3]
    z |= (byte & 0x7F) << 28
    if byte < 0x80:
        return z, pos + 4
    byte = data[pos + 4]
    z |= (byte & 0x7F) << 35
    if byte < 0x80:
        return z, pos + 5
    return _varint_loop(data, pos, first)


def _length(data: bytes, pos: int, first: int, what: str) -> tuple[int, int]:
    """Finish reading a string length (zig-zag) whose first byte is ``first``; reject negatives."""
    size = first
    if size & 0x80:
        size, pos = _varint_rest(data, pos, size)
    if size & 1:
        raise BodyError("malformed", f"{what}: negative length")
    return size, pos


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    z = data[pos]
    pos += 1
    if z & 0x80:
        z, pos = _varint_rest(data, pos, z)
    return (z >> 1) ^ -(z & 1), pos


def _block_count(data: bytes, pos: int, min_item_bytes: int, what: str) -> tuple[int, int]:
    """Read an array or map block's item count (a negative count carries a byte size)."""
    count, pos = _read_long(data, pos)
    if count < 0:
        count = -count
        _, pos = _read_long(data, pos)
    if count * min_item_bytes > len(data) - pos:
        raise BodyError(
            "truncated", f"{what} claims {count} items but only {len(data) - pos} bytes remain"
        )
    return count, pos


def _string(data: bytes, pos: int, what: str) -> tuple[str, int]:
    size, pos = _read_long(data, pos)
    end = pos + size
    if size < 0:
        raise BodyError("malformed", f"{what}: negative length {size}")
    if end > len(data):
        raise BodyError(
            "truncated", f"{what}: length {size} exceeds the {len(data) - pos} bytes left"
        )
    try:
        return data[pos:end].decode(), end
    except UnicodeDecodeError as exc:
        raise BodyError("malformed", f"{what}: not UTF-8: {exc}") from exc


def _read_span(data: bytes, pos: int, depth: int) -> tuple[Span, int]:  # noqa: PLR0912, PLR0915
    # The mirror of the encoder's _write: one function, the one-byte varints inline. Indexing
    # past the end raises IndexError, which decode_body reports as truncated.
    size_left = len(data)
    ids_end = pos + 24
    if ids_end > size_left:
        raise BodyError("truncated", "the span ids are cut short")
    trace_id = data[pos : pos + 16]
    span_id = data[pos + 16 : ids_end]
    pos = ids_end
    size = data[pos]
    pos += 1
    if size & 0x81:  # a multi-byte or negative length: off the common path
        size, pos = _length(data, pos, size, "scope")
    end = pos + (size >> 1)
    if end > size_left:
        raise BodyError("truncated", "the scope is cut short")
    scope = data[pos:end].decode()
    size = data[end]
    pos = end + 1
    if size & 0x81:  # a multi-byte or negative length: off the common path
        size, pos = _length(data, pos, size, "name")
    end = pos + (size >> 1)
    if end > size_left:
        raise BodyError("truncated", "the name is cut short")
    name = data[pos:end].decode()
    z = data[end]
    pos = end + 1
    if z & 0x80:
        z, pos = _varint_rest(data, pos, z)
    start_ts = (z >> 1) ^ -(z & 1)
    z = data[pos]
    pos += 1
    if z & 0x80:
        z, pos = _varint_rest(data, pos, z)
    end_ts = (z >> 1) ^ -(z & 1)

    count = data[pos]
    if count:
        attributes: dict[str, AttributeValue] = {}
        if count < 0x80 and not count & 1 and count * 3 <= 2 * (size_left - pos - 1):
            count >>= 1  # the usual case: fewer than 64 entries in one block, checked as below
            pos += 1
        else:
            count, pos = _block_count(data, pos, _MIN_ENTRY_BYTES, "attributes")
        while count:
            for _ in range(count):
                size = data[pos]
                pos += 1
                if size & 0x81:  # a multi-byte or negative length: off the common path
                    size, pos = _length(data, pos, size, "attribute key")
                end = pos + (size >> 1)
                if end > size_left:
                    raise BodyError("truncated", "an attribute key is cut short")
                key = data[pos:end].decode()
                branch = data[end]
                pos = end + 1
                if branch == 0:
                    size = data[pos]
                    pos += 1
                    if size & 0x81:  # a multi-byte or negative length: off the common path
                        size, pos = _length(data, pos, size, f"attribute {key!r}: string")
                    end = pos + (size >> 1)
                    if end > size_left:
                        raise BodyError("truncated", f"attribute {key!r}: string cut short")
                    attributes[key] = data[pos:end].decode()
                    pos = end
                elif branch == 2:
                    z = data[pos]
                    pos += 1
                    if z & 0x80:
                        z, pos = _varint_rest(data, pos, z)
                    attributes[key] = (z >> 1) ^ -(z & 1)
                elif branch == 4:
                    attributes[key] = _unpack_double(data, pos)[0]
                    pos += 8
                elif branch == 6:
                    flag = data[pos]
                    pos += 1
                    if flag > 1:
                        raise BodyError("malformed", f"attribute {key!r}: boolean byte {flag}")
                    attributes[key] = flag == 1
                else:
                    raise BodyError("malformed", f"attribute {key!r}: union branch byte {branch}")
            if data[pos]:
                count, pos = _block_count(data, pos, _MIN_ENTRY_BYTES, "attributes")
            else:
                count = 0
                pos += 1
        proxy = MappingProxyType(attributes) if attributes else _EMPTY
    else:
        proxy = _EMPTY
        pos += 1

    if data[pos]:
        children: list[Span] = []
        count, pos = _block_count(data, pos, _MIN_SPAN_BYTES, "children")
        if count and depth >= MAX_SPAN_DEPTH:
            raise BodyError("too-deep", f"children nest deeper than {MAX_SPAN_DEPTH} levels")
        while count:
            for _ in range(count):
                child, pos = _read_span(data, pos, depth + 1)
                children.append(child)
            count, pos = _block_count(data, pos, _MIN_SPAN_BYTES, "children")
        return _new_span(
            scope, name, start_ts, end_ts, proxy, tuple(children), trace_id, span_id
        ), pos
    return _new_span(scope, name, start_ts, end_ts, proxy, (), trace_id, span_id), pos + 1


def decode_body(data: bytes, offset: int) -> Span:
    """Decode the current schema's body starting at ``offset``; it must end exactly at the end.

    Raises:
        BodyError: truncated, malformed, too deep, or trailing bytes.
    """
    try:
        span, pos = _read_span(data, offset, 0)
    except (IndexError, struct.error) as exc:
        raise BodyError("truncated", "the message ends in the middle of a span") from exc
    except UnicodeDecodeError as exc:
        raise BodyError("malformed", f"a string is not UTF-8: {exc}") from exc
    if pos != len(data):
        raise BodyError("trailing-bytes", f"{len(data) - pos} bytes follow the span")
    return span


# --- the generic path -------------------------------------------------------------------------

_PRIMITIVE_SIZES: Final = {"null": 0, "float": 4, "double": 8}
# Nesting of records, arrays, maps and unions allowed on the generic path: a span level is a
# record and an array, so this admits MAX_SPAN_DEPTH levels with room for nested records.
_MAX_GENERIC_NESTING: Final = 4 * (MAX_SPAN_DEPTH + 1)


class _Checker:
    __slots__ = ("data", "named", "root")

    def __init__(self, data: bytes, named: dict[str, Any], root: str) -> None:
        self.data = data
        self.named = named
        self.root = root

    def skip(self, schema: Any, pos: int, nesting: int, spans: int) -> int:  # noqa: ANN401, PLR0911, PLR0912
        data = self.data
        if isinstance(schema, str):
            if schema in self.named:
                return self.skip(self.named[schema], pos, nesting, spans)
            if schema in _PRIMITIVE_SIZES:
                end = pos + _PRIMITIVE_SIZES[schema]
                if end > len(data):
                    raise BodyError("truncated", f"a {schema} is cut short")
                return end
            if schema in ("int", "long"):
                return _read_long(data, pos)[1]
            if schema == "boolean":
                if data[pos] > 1:
                    raise BodyError("malformed", f"boolean byte {data[pos]}")
                return pos + 1
            if schema == "string":
                return _string(data, pos, "string")[1]
            if schema == "bytes":
                size, pos = _read_long(data, pos)
                if size < 0 or pos + size > len(data):
                    raise BodyError("truncated", f"bytes of length {size} do not fit")
                return pos + size
            raise BodyError("incompatible-schema", f"unknown type {schema!r} in the writer schema")
        if isinstance(schema, list):
            branch, pos = _read_long(data, pos)
            if not 0 <= branch < len(schema):
                raise BodyError("malformed", f"union branch {branch} of {len(schema)}")
            return self.skip(schema[branch], pos, nesting + 1, spans)
        if nesting > _MAX_GENERIC_NESTING:
            raise BodyError("too-deep", "the message nests too deep")
        kind = schema["type"]
        if kind == "record":
            if schema["name"] == self.root:
                spans += 1
                if spans > MAX_SPAN_DEPTH + 1:
                    raise BodyError(
                        "too-deep", f"children nest deeper than {MAX_SPAN_DEPTH} levels"
                    )
            for field in schema["fields"]:
                pos = self.skip(field["type"], pos, nesting + 1, spans)
            return pos
        if kind == "fixed":
            fixed_end: int = pos + schema["size"]
            if fixed_end > len(data):
                raise BodyError("truncated", f"fixed {schema['name']} is cut short")
            return fixed_end
        if kind == "enum":
            index, pos = _read_long(data, pos)
            if not 0 <= index < len(schema["symbols"]):
                raise BodyError("malformed", f"enum index {index}")
            return pos
        if kind in ("array", "map"):
            items = schema["items"] if kind == "array" else schema["values"]
            count, pos = _block_count(data, pos, 1, kind)
            while count:
                for _ in range(count):
                    if kind == "map":
                        pos = _string(data, pos, "map key")[1]
                    pos = self.skip(items, pos, nesting + 1, spans)
                count, pos = _block_count(data, pos, 1, kind)
            return pos
        return self.skip(kind, pos, nesting, spans)


def check_body(data: bytes, offset: int, writer_schema: Any, named: dict[str, Any]) -> None:  # noqa: ANN401
    """Walk a body as ``writer_schema`` describes it, checking every bound and the depth.

    Raises:
        BodyError: truncated, malformed, too deep, or trailing bytes.
    """
    checker = _Checker(data, named, writer_schema["name"])
    try:
        pos = checker.skip(writer_schema, offset, 0, 0)
    except IndexError as exc:
        raise BodyError("truncated", "the message ends in the middle of a value") from exc
    except RecursionError as exc:
        raise BodyError("too-deep", "the message nests too deep") from exc
    if pos != len(data):
        raise BodyError("trailing-bytes", f"{len(data) - pos} bytes follow the span")


def read_resolved(data: bytes, offset: int, writer_schema: Any, reader_schema: Any) -> Any:  # noqa: ANN401
    """Read a body checked by :func:`check_body` with fastavro, resolving writer to reader.

    Raises:
        BodyError: ``incompatible-schema`` when the schemas do not resolve, else ``malformed``.
    """
    try:
        return fastavro.schemaless_reader(
            io.BytesIO(memoryview(data)[offset:]), writer_schema, reader_schema
        )
    except fastavro.read.SchemaResolutionError as exc:
        raise BodyError("incompatible-schema", f"writer schema does not resolve: {exc}") from exc
    except Exception as exc:
        raise BodyError("malformed", f"fastavro could not read the body: {exc}") from exc


def span_from_record(record: Any) -> Span:  # noqa: ANN401
    """Build a Span from a record read with a reader schema of the Span family.

    Raises:
        BodyError: the record does not make a valid Span.
    """
    try:
        children = tuple(span_from_record(child) for child in record["children"])
        return Span(
            record["scope"],
            record["name"],
            record["start_ts_millis"],
            record["end_ts_millis"],
            MappingProxyType(record["attributes"]) if record["attributes"] else _EMPTY,
            children,
            record["trace_id"],
            record["span_id"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BodyError("malformed", f"the record is not a span: {exc}") from exc
