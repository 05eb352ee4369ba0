"""What the span and event golden-vector tests share: the typed JSON form of attributes and the
checked-in files, one per schema version (``golden/span-v<N>.json``, ``golden/event-v<N>.json``).

Importable as ``_golden`` both under pytest and when a golden test runs as a script to write a
new version's vectors (either way this folder is on the path).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from spanstream.schemas import AttributeValue, SchemaVersion

GOLDEN_DIR = Path(__file__).parent / "golden"

TYPE_NAMES = {str: "string", int: "long", float: "double", bool: "boolean"}
"""Each attribute value's Python type -> its Avro type name."""

T = TypeVar("T")


def attributes_to_json(
    attributes: Mapping[str, AttributeValue], *, double: Callable[[float], str] = float.hex
) -> list[list[Any]]:
    """``[key, avro type, value]`` per attribute; a double as ``double(value)`` (exact)."""
    return [
        [key, TYPE_NAMES[type(value)], double(value) if type(value) is float else value]
        for key, value in attributes.items()
    ]


def attributes_from_json(rows: list[list[Any]]) -> dict[str, AttributeValue]:
    """The inverse of :func:`attributes_to_json` (doubles written by ``float.hex``)."""
    attributes: dict[str, AttributeValue] = {}
    for key, type_name, value in rows:
        attributes[key] = float.fromhex(value) if type_name == "double" else value
        assert TYPE_NAMES[type(attributes[key])] == type_name, (key, type_name)
    return attributes


@dataclass(frozen=True)
class GoldenFiles(Generic[T]):
    """The golden files of one record kind: ``kind`` is ``"span"`` or ``"event"``."""

    kind: str
    current_version: int
    to_json: Callable[[T], dict[str, Any]]
    encode: Callable[[T], bytes]

    def path(self, version: int) -> Path:
        """Where the vectors of one schema version live."""
        return GOLDEN_DIR / f"{self.kind}-v{version}.json"

    def load(self, version: int) -> dict[str, Any]:
        """One version's whole file."""
        doc: dict[str, Any] = json.loads(self.path(version).read_text("utf-8"))
        return doc

    def vectors(self) -> dict[str, dict[str, Any]]:
        """The current version's vectors by name."""
        return {vector["name"]: vector for vector in self.load(self.current_version)["vectors"]}

    def write_current(self, version: SchemaVersion, samples: Mapping[str, T]) -> Path:
        """Write the current version's file from ``samples`` (only when releasing a version)."""
        doc = {
            "version": self.current_version,
            "fingerprint": version.fingerprint.hex(),
            "canonical_form": version.canonical_form,
            "vectors": [
                {
                    "name": name,
                    self.kind: self.to_json(sample),
                    "message_hex": self.encode(sample).hex(),
                }
                for name, sample in samples.items()
            ],
        }
        path = self.path(self.current_version)
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
        return path
