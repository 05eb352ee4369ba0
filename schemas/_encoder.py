"""The fast span encoder: Avro binary for ``span.avsc`` v1, written by hand.

fastavro resolves the attribute union for every value and walks the schema for every call;
for a span of seven attributes that is most of the cost. This encoder knows the schema, so it
dispatches on each value's exact Python type, and keeps the encoded form (length prefix and
UTF-8 bytes) of the strings that repeat from span to span: scopes, names, attribute keys (with
their union branch) and string values such as scope variables. The output is byte-identical to
fastavro's ``schemaless_writer`` for the same schema and span (property-tested).

The caches are plain dicts, each cleared when it grows past a bound, so memory stays bounded
whatever the spans carry; strings longer than :data:`MAX_CACHED_CHARS` are never cached. Any
thread may encode: a dict's get, set and clear are each atomic, and a lost entry is a miss.
"""

from __future__ import annotations

import struct
from typing import Final

from spanstream.schemas._errors import EncodeError
from spanstream.schemas._span import MAX_SPAN_DEPTH, Span, SpanTooDeepError

__all__ = [
    "ENCODER_SCHEMA_CANONICAL_FORM",
    "MAX_CACHED_CHARS",
    "MAX_CACHED_STRINGS",
    "clear_caches",
    "encode_body",
    "encode_framed",
]

ENCODER_SCHEMA_CANONICAL_FORM: Final = (
    '{"name":"io.spanstream.avro.Span","type":"record","fields":['
    '{"name":"trace_id","type":{"name":"io.spanstream.avro.TraceId","type":"fixed","size":16}},'
    '{"name":"span_id","type":{"name":"io.spanstream.avro.SpanId","type":"fixed","size":8}},'
    '{"name":"scope","type":"string"},{"name":"name","type":"string"},'
    '{"name":"start_ts_millis","type":"long"},{"name":"end_ts_millis","type":"long"},'
    '{"name":"attributes","type":{"type":"map","values":["string","long","double","boolean"]}},'
    '{"name":"children","type":{"type":"array","items":"io.spanstream.avro.Span"}}]}'
)
"""The Parsing Canonical Form this encoder (and the fast decoder) is written for; the codec
uses them only for the schema version with this form."""

MAX_CACHED_CHARS: Final = 128
"""Strings longer than this are encoded every time, never cached."""

MAX_CACHED_STRINGS: Final = 4096
"""Each cache is cleared when it holds more entries than this."""

_LONG_BYTES: Final = 10  # a 64-bit zig-zag varint takes at most 10 bytes


def _varint(z: int) -> bytes:
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_SMALL_LIMIT: Final = 1 << 14
# Zig-zag values below 2**14 encode in one or two bytes: precomputed once.
_SMALL: Final = tuple(_varint(z) for z in range(_SMALL_LIMIT))
# The low 14 bits of a larger value: always two bytes, both with the continuation bit.
_LOW14: Final = tuple(
    bytes(((z & 0x7F) | 0x80, ((z >> 7) & 0x7F) | 0x80)) for z in range(_SMALL_LIMIT)
)
# The rest of a larger value (z >> 14): timestamps share it for about 8 seconds at a time.
# Attribute longs get their own cache, so values that never repeat cannot evict the times'.
_high: dict[int, bytes] = {}
_high_values: dict[int, bytes] = {}

_pack_double: Final = struct.Struct("<d").pack

# key -> encoded key followed by the union branch of the value's type
_keys_str: dict[str, bytes] = {}
_keys_long: dict[str, bytes] = {}
_keys_double: dict[str, bytes] = {}
# key -> the whole encoded entry for True / False
_keys_true: dict[str, bytes] = {}
_keys_false: dict[str, bytes] = {}
# scopes and names; string attribute values
_names: dict[str, bytes] = {}
_values: dict[str, bytes] = {}


def clear_caches() -> None:
    """Empty every cache of encoded strings (tests use it; nothing else needs to)."""
    for cache in (
        _high,
        _high_values,
        _keys_str,
        _keys_long,
        _keys_double,
        _keys_true,
        _keys_false,
    ):
        cache.clear()
    _names.clear()
    _values.clear()


def _high_miss(high: int, cache: dict[int, bytes] = _high) -> bytes:
    """Encode and cache ``z >> 14`` of a zig-zag value ``z`` of 2**14 or more."""
    if high >> (64 - 14):
        raise EncodeError("a long attribute or timestamp is outside the signed 64-bit range")
    tail = _varint(high)
    if len(cache) >= MAX_CACHED_STRINGS:
        cache.clear()
    cache[high] = tail
    return tail


def _big_long(z: int) -> bytes:
    """Encode a zig-zag value of 2**14 or more."""
    high = z >> 14
    return _LOW14[z & 0x3FFF] + (_high.get(high) or _high_miss(high))


def _long(n: int) -> bytes:
    # Zig-zag: never negative, and at least 2**64 exactly when n is outside 64 bits.
    z = (n << 1) ^ (n >> 63)
    if z < _SMALL_LIMIT:
        return _SMALL[z]
    return _big_long(z)


def _encode_string(s: str) -> bytes:
    if type(s) is not str:
        raise EncodeError(f"expected a str, not {type(s).__name__}: {s!r}")
    try:
        data = s.encode()
    except UnicodeEncodeError as exc:
        raise EncodeError(f"string {s!r} cannot be encoded as UTF-8: {exc}") from exc
    return _long(len(data)) + data


def _cached(cache: dict[str, bytes], s: str, suffix: bytes) -> bytes:
    encoded = _encode_string(s) + suffix
    if len(s) <= MAX_CACHED_CHARS:
        if len(cache) >= MAX_CACHED_STRINGS:
            cache.clear()
        cache[s] = encoded
    return encoded


def _name_miss(s: str) -> bytes:
    return _cached(_names, s, b"")


def _value_miss(s: str) -> bytes:
    return _cached(_values, s, b"")


_STR: Final = b"\x00"  # union branches of the attribute values, zig-zag encoded
_LONG: Final = b"\x02"
_DOUBLE: Final = b"\x04"
_TRUE: Final = b"\x06\x01"
_FALSE: Final = b"\x06\x00"


def _key_miss(cache: dict[str, bytes], key: str, branch: bytes) -> bytes:
    return _cached(cache, key, branch)


def _odd_value(key: str, value: object) -> tuple[bytes, bytes]:
    """Encode a value of a subclass of an attribute type, as fastavro would resolve it."""
    if isinstance(value, str):
        return _key_miss(_keys_str, key, _STR), _encode_string(str(value))
    if isinstance(value, bool):
        return _key_miss(_keys_true, key, _TRUE) if value else _key_miss(
            _keys_false, key, _FALSE
        ), b""
    if isinstance(value, int):
        return _key_miss(_keys_long, key, _LONG), _long(int(value))
    if isinstance(value, float):
        return _key_miss(_keys_double, key, _DOUBLE), _pack_double(value)
    raise EncodeError(
        f"attribute {key!r}: values must be str, int, float or bool, not {type(value).__name__}"
    )


def _write(span: Span, parts: list[bytes], depth: int) -> None:  # noqa: PLR0912, PLR0915
    # One function, locals bound once, no per-value calls on the common paths: this is the
    # hot loop of the whole producer (see tests/unit/test_codec_guard.py).
    names = _names
    high = _high
    start = span.start_ts_millis
    end = span.end_ts_millis
    z_start = (start << 1) ^ (start >> 63)
    z_end = (end << 1) ^ (end >> 63)
    if z_start >= _SMALL_LIMIT and z_end >= _SMALL_LIMIT:  # any time after 1970-01-01T00:00:08
        h_start = z_start >> 14
        h_end = z_end >> 14
        parts += (
            span.trace_id,
            span.span_id,
            names.get(span.scope) or _name_miss(span.scope),
            names.get(span.name) or _name_miss(span.name),
            _LOW14[z_start & 0x3FFF],
            high.get(h_start) or _high_miss(h_start),
            _LOW14[z_end & 0x3FFF],
            high.get(h_end) or _high_miss(h_end),
        )
    else:
        parts += (
            span.trace_id,
            span.span_id,
            names.get(span.scope) or _name_miss(span.scope),
            names.get(span.name) or _name_miss(span.name),
            _long(start),
            _long(end),
        )
    attributes = span.attributes
    if attributes:
        count = len(attributes)
        parts.append(_SMALL[count << 1] if count < 8192 else _long(count))
        append = parts.append
        keys_str = _keys_str
        keys_long = _keys_long
        values = _values
        high_values = _high_values
        for key, value in attributes.items():
            # `type(v) is T` on a local: mypy does not narrow it, hence the ignores below.
            value_type = type(value)
            if value_type is str:
                append(keys_str.get(key) or _key_miss(keys_str, key, _STR))
                append(values.get(value) or _value_miss(value))  # type: ignore[arg-type]
            elif value_type is int:
                append(keys_long.get(key) or _key_miss(keys_long, key, _LONG))
                z = (value << 1) ^ (value >> 63)  # type: ignore[operator]
                if z < _SMALL_LIMIT:
                    append(_SMALL[z])
                else:
                    append(_LOW14[z & 0x3FFF])
                    z >>= 14
                    append(high_values.get(z) or _high_miss(z, high_values))
            elif value_type is float:
                append(_keys_double.get(key) or _key_miss(_keys_double, key, _DOUBLE))
                append(_pack_double(value))
            elif value_type is bool:
                if value:
                    append(_keys_true.get(key) or _key_miss(_keys_true, key, _TRUE))
                else:
                    append(_keys_false.get(key) or _key_miss(_keys_false, key, _FALSE))
            else:
                parts += _odd_value(key, value)
    children = span.children
    if children:
        if depth >= MAX_SPAN_DEPTH:
            raise SpanTooDeepError(f"span children nest deeper than {MAX_SPAN_DEPTH} levels")
        count = len(children)
        parts += (b"\x00", _SMALL[count << 1] if count < 8192 else _long(count))
        for child in children:
            _write(child, parts, depth + 1)
        parts.append(b"\x00")
    else:
        parts.append(b"\x00\x00")


def encode_framed(span: Span, header: bytes) -> bytes:
    """Return ``header`` followed by the Avro binary body of ``span``.

    Raises:
        EncodeError: a value does not fit the schema (a long out of range, a string that is
            not valid UTF-8, an attribute of another type, a tree nested too deep).
    """
    parts = [header]
    try:
        _write(span, parts, 0)
    except EncodeError:
        raise
    except (AttributeError, TypeError, ValueError, OverflowError, struct.error) as exc:
        raise EncodeError(f"span cannot be encoded: {exc}") from exc
    return b"".join(parts)


def encode_body(span: Span) -> bytes:
    """Return the Avro binary body of ``span`` (no framing)."""
    return encode_framed(span, b"")
