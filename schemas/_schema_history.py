"""Every released version of the span and event schemas, found by fingerprint.

``span.avsc`` and ``event.avsc`` are the current contracts; ``history/span-v<N>.avsc`` and
``history/event-v<N>.avsc`` keep each released version byte for byte (the current ones
included), so a reader can resolve any message ever written. The two records are separate
families: each has its own versions, fingerprints and history.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from spanstream.schemas._errors import SpanValueError

__all__ = [
    "CURRENT_EVENT_SCHEMA_VERSION",
    "CURRENT_SCHEMA_VERSION",
    "SchemaHistory",
    "SchemaVersion",
    "default_event_history",
    "default_history",
    "event_schema_for_fingerprint",
    "schema_for_fingerprint",
]


def _without_logical_types(schema: Any) -> Any:  # noqa: ANN401 - JSON of any shape
    # Readers keep epoch milliseconds as ints. Logical types are not part of the Parsing
    # Canonical Form, so stripping them changes no fingerprint.
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(item) for item in schema]
    return schema


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of the span (or event) schema.

    Attributes:
        version: the release number (``1`` for ``span-v1.avsc``).
        text: the ``.avsc`` text exactly as released.
        canonical_form: the Avro Parsing Canonical Form of the schema.
        fingerprint: its 8-byte CRC-64-AVRO fingerprint, in single-object header order.
        parsed: the schema parsed by fastavro, as written (logical types kept).
        parsed_plain: the same without logical types, as readers use it.
        named: every named type of the schema by full name (records, fixed, enums).
    """

    version: int
    text: str
    canonical_form: str
    fingerprint: bytes
    parsed: Any = field(repr=False)
    parsed_plain: Any = field(repr=False)
    named: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_text(cls, text: str, *, version: int) -> SchemaVersion:
        """Parse one ``.avsc`` text (raises fastavro's ``SchemaParseException`` if invalid)."""
        schema_json = json.loads(text)
        parsed = fastavro.parse_schema(schema_json)
        named: dict[str, Any] = {}
        parsed_plain = fastavro.parse_schema(_without_logical_types(schema_json), named)
        canonical = to_parsing_canonical_form(parsed)
        return cls(
            version=version,
            text=text,
            canonical_form=canonical,
            fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
            parsed=parsed,
            parsed_plain=parsed_plain,
            named=named,
        )

    @property
    def full_name(self) -> str:
        """The full name of the top-level record, e.g. ``io.spanstream.avro.Span``."""
        name: str = self.parsed["name"]
        return name


class SchemaHistory:
    """A set of schema versions, one of them the reader's (the current one).

    The codec takes one so tests can inject a newer or older reader; production code uses
    :func:`default_history`.

    Example:
        >>> history = default_history()
        >>> history.current.version == CURRENT_SCHEMA_VERSION
        True
    """

    __slots__ = ("_by_fingerprint", "_current", "_versions")

    def __init__(self, versions: Iterable[SchemaVersion], *, current: int) -> None:
        self._versions = tuple(sorted(versions, key=lambda v: v.version))
        self._by_fingerprint = {v.fingerprint: v for v in self._versions}
        if len(self._by_fingerprint) != len(self._versions):
            raise SpanValueError("two schema versions share one fingerprint")
        matching = [v for v in self._versions if v.version == current]
        if len(matching) != 1:
            raise SpanValueError(f"current version {current} is not exactly one of the versions")
        self._current = matching[0]

    @property
    def current(self) -> SchemaVersion:
        """The reader's (and writer's) schema version."""
        return self._current

    @property
    def versions(self) -> tuple[SchemaVersion, ...]:
        """Every known version, oldest first."""
        return self._versions

    def by_fingerprint(self, schema_fingerprint: bytes) -> SchemaVersion | None:
        """Return the version with this 8-byte fingerprint, or ``None``."""
        return self._by_fingerprint.get(schema_fingerprint)

    def __iter__(self) -> Iterator[SchemaVersion]:
        return iter(self._versions)


def _read_package_text(*parts: str) -> str:
    node = resources.files("spanstream.schemas")
    for part in parts:
        node = node.joinpath(part)
    return node.read_text("utf-8")


def _load_history(family: str) -> SchemaHistory:
    """Load ``history/<family>-v<N>.avsc``; ``<family>.avsc`` must be one of them, byte for byte."""
    history_file = re.compile(rf"{family}-v(\d+)\.avsc")
    versions = []
    for entry in resources.files("spanstream.schemas").joinpath("history").iterdir():
        match = history_file.fullmatch(entry.name)
        if match:
            versions.append(
                SchemaVersion.from_text(entry.read_text("utf-8"), version=int(match.group(1)))
            )
    current_text = _read_package_text(f"{family}.avsc")
    current = [v for v in versions if v.text == current_text]
    if len(current) != 1:
        raise RuntimeError(
            f"{family}.avsc is not byte-identical to exactly one history/{family}-v*.avsc"
        )
    return SchemaHistory(versions, current=current[0].version)


_DEFAULT: Final = _load_history("span")
_DEFAULT_EVENT: Final = _load_history("event")

CURRENT_SCHEMA_VERSION: Final = _DEFAULT.current.version
"""The release number of ``span.avsc``, the schema every message is written with."""


def default_history() -> SchemaHistory:
    """Return the released schema versions shipped with this package (``span.avsc`` current)."""
    return _DEFAULT


def schema_for_fingerprint(schema_fingerprint: bytes) -> SchemaVersion | None:
    """Return the released span schema version with this 8-byte fingerprint, or ``None``."""
    return _DEFAULT.by_fingerprint(schema_fingerprint)


CURRENT_EVENT_SCHEMA_VERSION: Final = _DEFAULT_EVENT.current.version
"""The release number of ``event.avsc``, the schema every event message is written with."""


def default_event_history() -> SchemaHistory:
    """Return the released event schema versions shipped with this package (``event.avsc``)."""
    return _DEFAULT_EVENT


def event_schema_for_fingerprint(schema_fingerprint: bytes) -> SchemaVersion | None:
    """Return the released event schema version with this 8-byte fingerprint, or ``None``."""
    return _DEFAULT_EVENT.by_fingerprint(schema_fingerprint)
