"""Events on the command line: the compact line, ``--long`` and ``--json`` for ``tail``.

An event has no duration: its line shows the observed time, job, name, severity and the key
attributes of Flink's system events, in the style of the span line (``_spans``).
"""

from __future__ import annotations

import json
from typing import Any, Final

from spanstream.cli._spans import (
    attribute_text,
    escape_text,
    json_bytes,
    ordered_attributes,
    short_scope,
    shown_value,
)
from spanstream.cli._timerange import format_ts_millis
from spanstream.consumer import EventRecord
from spanstream.schemas import AttributeValue, Event

__all__ = ["event_line", "event_line_long", "event_record_json", "event_to_dict"]

# The attributes the compact line shows for Flink's system events; other events show their
# first few attributes that are not scope variables.
_KEY_ATTRIBUTES: Final = {
    "CheckpointEvent": ("checkpointId", "checkpointStatus", "checkpointedSize", "fullSize"),
    "JobStatusChangeEvent": ("newJobStatus",),
    "AllSubtasksStatusChangeEvent": ("status",),
    "JobFailureEvent": ("canRestart", "isGlobalFailure"),
}
_OTHER_ATTRIBUTES: Final = 4
_MAX_ATTRIBUTES_CHARS: Final = 100


def _key_attributes(event: Event) -> list[tuple[str, AttributeValue]]:
    attributes = event.attributes
    keys = _KEY_ATTRIBUTES.get(event.name)
    if keys is not None:
        chosen = [(k, attributes[k]) for k in keys if k in attributes]
        if event.name == "JobFailureEvent":
            chosen += sorted((k, v) for k, v in attributes.items() if k.startswith("failureLabel"))
        return chosen
    plain = sorted((k, v) for k, v in attributes.items() if not k.startswith("<"))
    return plain[:_OTHER_ATTRIBUTES]


def event_line(event: Event) -> str:
    """The compact line ``tail`` prints for an event: time, job, name, severity, key attributes.

    >>> event = Event.builder("app.Loader", "Loaded").set_observed_ts_millis(1704067200000)
    >>> event_line(event.set_severity("INFO").set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z  -  Loaded  INFO  rows=3'
    """
    job = event.attributes.get("<job_name>")
    parts = [
        format_ts_millis(event.observed_ts_millis),
        "-" if job is None else shown_value(job),
        escape_text(event.name),
        escape_text(event.severity) or "-",
    ]
    attributes = " ".join(f"{escape_text(k)}={shown_value(v)}" for k, v in _key_attributes(event))
    if len(attributes) > _MAX_ATTRIBUTES_CHARS:
        attributes = attributes[: _MAX_ATTRIBUTES_CHARS - 1] + "…"
    if attributes:
        parts.append(attributes)
    return "  ".join(parts)


def event_line_long(event: Event) -> str:
    """``tail --long`` for an event: time, severity, name, short scope, attributes, body.

    >>> event = Event.builder("app.Loader", "Loaded").set_observed_ts_millis(1704067200000)
    >>> event_line_long(event.set_body("done").set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z  event  Loaded  [Loader]  rows=3  body=done'
    """
    parts = [
        format_ts_millis(event.observed_ts_millis),
        "event" if not event.severity else f"event {escape_text(event.severity)}",
        escape_text(event.name),
        f"[{escape_text(short_scope(event.scope))}]",
    ]
    attributes = " ".join(
        f"{escape_text(k)}={escape_text(attribute_text(v))}"
        for k, v in ordered_attributes(event.attributes)
    )
    if attributes:
        parts.append(attributes)
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
    document = {"kind": "event", **event_to_dict(record.event)}
    document.update(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp_ms,
        key=json_bytes(record.key),
        headers=[[name, json_bytes(value)] for name, value in record.headers],
    )
    return json.dumps(document, separators=(",", ":"), allow_nan=True)
