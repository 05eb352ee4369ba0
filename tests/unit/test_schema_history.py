"""The span schema and its released history."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from spanstream.schemas import (
    CURRENT_SCHEMA_VERSION,
    SCHEMA_FINGERPRINT,
    schema_for_fingerprint,
)
from spanstream.schemas._schema_history import default_history

_CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_avro(data: bytes) -> int:
    # The Avro specification's reference algorithm, written independently of fastavro.
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    fp = _CRC64_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def _package_text(*parts: str) -> str:
    node = resources.files("spanstream.schemas")
    for part in parts:
        node = node.joinpath(part)
    return node.read_text("utf-8")


def _records(schema: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(schema, dict):
        if schema.get("type") == "record":
            found.append(schema)
        for value in schema.values():
            found.extend(_records(value))
    elif isinstance(schema, list):
        for item in schema:
            found.extend(_records(item))
    return found


def test_span_avsc_is_the_latest_released_version_byte_for_byte() -> None:
    """span.avsc is identical to history/span-v<current>.avsc, and current is the newest."""
    current = default_history().current
    assert current.version == CURRENT_SCHEMA_VERSION
    assert current.version == max(v.version for v in default_history().versions)
    assert _package_text("span.avsc") == _package_text("history", f"span-v{current.version}.avsc")


def test_fingerprint_is_the_little_endian_crc64_avro_of_the_canonical_form() -> None:
    """SCHEMA_FINGERPRINT matches the spec's CRC-64-AVRO, little-endian as in the header."""
    canonical = default_history().current.canonical_form.encode()
    assert _crc64_avro(canonical).to_bytes(8, "little") == SCHEMA_FINGERPRINT


def test_every_record_and_field_has_a_doc() -> None:
    """The contract documents every record and every field."""
    for version in default_history().versions:
        for record in _records(json.loads(version.text)):
            assert record.get("doc"), record["name"]
            for field in record["fields"]:
                assert field.get("doc"), (version.version, record["name"], field["name"])


def test_schema_is_namespaced_recursive_with_fixed_ids_and_millisecond_times() -> None:
    """The shape the contract promises: ids fixed, times timestamp-millis, children recursive."""
    schema = json.loads(default_history().current.text)
    assert schema["namespace"] == "io.spanstream.avro"
    fields = {f["name"]: f["type"] for f in schema["fields"]}
    assert fields["trace_id"] == {"type": "fixed", "name": "TraceId", "size": 16}
    assert fields["span_id"] == {"type": "fixed", "name": "SpanId", "size": 8}
    for ts in ("start_ts_millis", "end_ts_millis"):
        assert fields[ts] == {"type": "long", "logicalType": "timestamp-millis"}
    assert fields["attributes"] == {
        "type": "map",
        "values": ["string", "long", "double", "boolean"],
    }
    assert fields["children"] == {"type": "array", "items": "Span"}


def test_every_released_version_is_found_by_its_fingerprint() -> None:
    """schema_for_fingerprint finds each released version; an unknown one is None."""
    for version in default_history().versions:
        assert schema_for_fingerprint(version.fingerprint) is version
    assert schema_for_fingerprint(b"\x00" * 8) is None
