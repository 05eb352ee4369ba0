"""Events on the command line: the compact line, ``--long`` and ``--json`` for ``tail``.

An event has no duration: its line shows the observed time, job, name, severity and the key
attributes of Flink's system events, in the style of the span line (``_spans``).
"""

from __future__ import annotations

import json
from typing import Any, Final

from spanstream.cli._spans import (
    compact_parts,
    escape_text,
    key_attributes,
    long_parts,
    record_place,
)
from spanstream.consumer import EventRecord
from spanstream.schemas import Event

__all__ = ["event_line", "event_line_long", "event_record_json", "event_to_dict"]

# The attributes the compact line shows for Flink's system events; other events show their
# first few attributes that are not scope variables.
_KEY_ATTRIBUTES: Final = {
    "CheckpointEvent": ("checkpointId", "checkpointStatus", "checkpointedSize", "fullSize"),
    "JobStatusChangeEvent": ("newJobStatus",),
    "AllSubtasksStatusChangeEvent": ("status",),
    "JobFailureEvent": ("canRestart", "isGlobalFailure"),
}


def event_line(event: Event) -> str:
    """The compact line ``tail`` prints for an event: time, job, name, severity, key attributes.

    >>> event = Event.builder("app.Loader", "Loaded").set_observed_ts_millis(1704067200000)
    >>> event_line(event.set_severity("INFO").set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z  -  Loaded  INFO  rows=3'
    """
    attributes = event.attributes
    shown = key_attributes(event.name, attributes, _KEY_ATTRIBUTES, failure_name="JobFailureEvent")
    severity = escape_text(event.severity) or "-"
    return "  ".join(
        compact_parts(event.observed_ts_millis, attributes, event.name, severity, shown)
    )


def event_line_long(event: Event) -> str:
    """``tail --long`` for an event: time, severity, name, short scope, attributes, body.

    >>> event = Event.builder("app.Loader", "Loaded").set_observed_ts_millis(1704067200000)
    >>> event_line_long(event.set_body("done").set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z  event  Loaded  [Loader]  rows=3  body=done'
    """
    kind = "event" if not event.severity else f"event {escape_text(event.severity)}"
    parts = long_parts(event.observed_ts_millis, kind, event.name, event.scope, event.attributes)
    if event.body:
        parts.append(f"body={escape_text(event.body)}")
    if event.trace_id is not None:
        parts.append(f"trace={event.trace_id.hex()}")
    return "  ".join(parts)


def event_to_dict(event: Event) -> dict[str, Any]:
    """An event as plain JSON-ready data; ids as lowercase hex (``None`` when absent)."""
    return {
        "event_id": event.event_id.hex(),
        "trace_id": None if event.trace_id is None else event.trace_id.hex(),
        "span_id": None if event.span_id is None else event.span_id.hex(),
        "scope": event.scope,
        "name": event.name,
        "observed_ts_millis": event.observed_ts_millis,
        "body": event.body,
        "severity": event.severity,
        "attributes": dict(event.attributes),
    }


def event_record_json(record: EventRecord) -> str:
    """``tail --json`` for an event: ``"kind": "event"``, the event, and its record's place.

    The record's fields (topic, partition, offset, timestamp_ms, key, headers) are as for spans.
    """
    document = {"kind": "event", **event_to_dict(record.event), **record_place(record)}
    return json.dumps(document, separators=(",", ":"), allow_nan=True)
