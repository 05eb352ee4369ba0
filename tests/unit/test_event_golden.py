"""Golden vectors of the event schema: sample events and their exact message bytes, per version.

Any drift in ``event.avsc`` or the event codec fails here. Write the vectors of a new event
schema version (only when releasing it; never to make a failing test pass):
    .venv/bin/python tests/unit/test_event_golden.py --write
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import pytest
from _golden import GoldenFiles, attributes_from_json, attributes_to_json

from spanstream.schemas import (
    CURRENT_EVENT_SCHEMA_VERSION,
    EVENT_SCHEMA_FINGERPRINT,
    AttributeValue,
    Event,
    decode_event,
    default_event_history,
    encode_event,
    event_schema_for_fingerprint,
)

_TS = 1_732_000_000_123


def _event(
    n: int,
    scope: str,
    name: str,
    attributes: dict[str, AttributeValue] | None = None,
    *,
    observed: int = _TS,
    body: str = "",
    severity: str = "",
    in_span: bool = False,
) -> Event:
    event_id = bytes((n + i) % 256 for i in range(16))
    trace_id = bytes((n * 7 + i) % 256 for i in range(16)) if in_span else None
    span_id = (n + 1).to_bytes(8, "big") if in_span else None
    return Event(
        scope, name, observed, body, severity, attributes or {}, event_id, trace_id, span_id
    )


def sample_events() -> dict[str, Event]:
    """The named sample events: every field, optional ids set and unset, edge values."""
    return {
        "no-attributes": _event(1, "my.app.Job", "Started"),
        "in-a-span": _event(
            2,
            "my.app.Job",
            "Rescaled",
            {"parallelism": 4},
            body="scaled up",
            severity="INFO",
            in_span=True,
        ),
        "one-of-each-type": _event(
            3, "my.app.Job", "Mixed", {"s": "text", "l": -42, "d": 2.5, "t": True, "f": False}
        ),
        "edge-values": _event(
            4,
            "my.app.Jöb",
            "",
            {"long-max": 2**63 - 1, "long-min": -(2**63), "nan": math.nan, "": "日本語"},
            observed=-1,
            body="🚀" * 3,
            severity="x" * 64,
        ),
        "flink-checkpoint-event": _event(
            5,
            "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker",
            "CheckpointEvent",
            {
                "checkpointId": 17,
                "checkpointStatus": "COMPLETED",
                "isUnaligned": "false",
                "<job_id>": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            },
        ),
    }


def event_to_json(event: Event) -> dict[str, Any]:
    """The typed JSON form of an event: every attribute keeps its Avro type; doubles exact."""
    return {
        "event_id": event.event_id.hex(),
        "trace_id": None if event.trace_id is None else event.trace_id.hex(),
        "span_id": None if event.span_id is None else event.span_id.hex(),
        "scope": event.scope,
        "name": event.name,
        "observed_ts_millis": event.observed_ts_millis,
        "body": event.body,
        "severity": event.severity,
        "attributes": attributes_to_json(event.attributes),
    }


def event_from_json(doc: dict[str, Any]) -> Event:
    """The inverse of :func:`event_to_json`."""
    return Event(
        doc["scope"],
        doc["name"],
        doc["observed_ts_millis"],
        doc["body"],
        doc["severity"],
        attributes_from_json(doc["attributes"]),
        bytes.fromhex(doc["event_id"]),
        None if doc["trace_id"] is None else bytes.fromhex(doc["trace_id"]),
        None if doc["span_id"] is None else bytes.fromhex(doc["span_id"]),
    )


GOLDEN = GoldenFiles(
    kind="event",
    current_version=CURRENT_EVENT_SCHEMA_VERSION,
    to_json=event_to_json,
    encode=encode_event,
)


def write_current_vectors() -> Path:
    """Write the current event schema version's golden file from the sample events."""
    return GOLDEN.write_current(default_event_history().current, sample_events())


@pytest.mark.parametrize("version", [v.version for v in default_event_history().versions])
def test_every_released_event_version_has_vectors_pinning_its_schema(version: int) -> None:
    """Each history/event-v<N>.avsc has vectors whose canonical form and fingerprint match."""
    released = next(v for v in default_event_history().versions if v.version == version)
    doc = GOLDEN.load(version)
    assert doc["canonical_form"] == released.canonical_form
    assert doc["fingerprint"] == released.fingerprint.hex()
    assert event_schema_for_fingerprint(released.fingerprint) is released


@pytest.mark.parametrize("version", [v.version for v in default_event_history().versions])
def test_every_released_event_versions_vectors_still_decode(version: int) -> None:
    """Messages written with any released event schema decode to their events today."""
    for vector in GOLDEN.load(version)["vectors"]:
        decoded = decode_event(bytes.fromhex(vector["message_hex"]))
        assert decoded == event_from_json(vector["event"])


def test_the_event_golden_set_covers_every_sample_event() -> None:
    """No sample event lacks a checked-in vector (and none is stale)."""
    assert set(GOLDEN.vectors()) == set(sample_events())


@pytest.mark.parametrize("name", sorted(sample_events()))
def test_encoding_a_sample_event_gives_its_golden_bytes(name: str) -> None:
    """The event codec writes exactly the checked-in bytes."""
    assert encode_event(sample_events()[name]).hex() == GOLDEN.vectors()[name]["message_hex"]


@pytest.mark.parametrize("name", sorted(sample_events()))
def test_event_golden_json_describes_the_sample_event(name: str) -> None:
    """The checked-in JSON form of each event is the sample event itself."""
    assert event_from_json(GOLDEN.vectors()[name]["event"]) == sample_events()[name]


def test_event_messages_carry_the_event_fingerprint() -> None:
    """Every event message opens with C3 01 and the event schema's own fingerprint."""
    for vector in GOLDEN.vectors().values():
        assert vector["message_hex"][:20] == "c301" + EVENT_SCHEMA_FINGERPRINT.hex()


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_event_golden.py --write")
    print(write_current_vectors())
