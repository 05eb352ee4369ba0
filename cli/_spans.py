"""Spans on the command line: filters and renderings.

Filters: ``--name``, ``--scope``, ``--attr``, ``--trace-id`` (for events too). Renderings: the
compact line, ``--long``, ``--format`` templates (spans and events), ``--json``; the event
lines are in ``_event_lines``.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from spanstream.cli._exit import UsageError
from spanstream.cli._timerange import format_ts_millis
from spanstream.consumer import EventRecord, SpanRecord
from spanstream.schemas import AttributeValue, Event, Span

__all__ = [
    "FORMAT_FIELDS",
    "SpanFilter",
    "attribute_text",
    "check_template",
    "compact_parts",
    "escape_text",
    "json_bytes",
    "key_attributes",
    "long_parts",
    "ordered_attributes",
    "record_place",
    "render_template",
    "short_scope",
    "shown_value",
    "span_json",
    "span_line",
    "span_line_long",
    "span_to_dict",
]

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a value that
# holds one must not break a line apart or move the terminal's cursor.
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_text(text: str) -> str:
    r"""``text`` on one line: newlines, tabs and control characters as backslash escapes.

    >>> escape_text("a\nb\x1b[2J")
    'a\\nb\\x1b[2J'
    """
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape_char, text)


def attribute_text(value: AttributeValue) -> str:
    """An attribute value as text: booleans as ``true``/``false``, as on the wire's readers."""
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def short_scope(scope: str) -> str:
    """The last part of a dotted scope, as the lines show it (``CheckpointStatsTracker``)."""
    return scope.rsplit(".", 1)[-1]


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class _AttributeMatch:
    """One ``--attr key=value``: globs on both sides, the value also compared typed."""

    key: str
    value: str

    def matches(self, attributes: Mapping[str, AttributeValue]) -> bool:
        if any(c in self.key for c in "*?["):
            return any(
                fnmatch.fnmatchcase(k, self.key) and self._value_matches(v)
                for k, v in attributes.items()
            )
        found = attributes.get(self.key)
        return found is not None and self._value_matches(found)

    def _value_matches(self, value: AttributeValue) -> bool:
        if type(value) is bool:
            return self.value.lower() == attribute_text(value)
        if type(value) in (int, float):
            wanted = _number(self.value)
            if wanted is not None:
                return value == wanted
        return fnmatch.fnmatchcase(attribute_text(value), self.value)


@dataclass(frozen=True, slots=True)
class SpanFilter:
    """Which top-level spans to keep: every given criterion must match.

    Attributes:
        names: glob patterns (``Checkpoint*``); the span's name must match one of them.
        scopes: glob patterns; the span's scope, or its short form as the line shows it
            (``CheckpointStatsTracker``), must match one.
        attributes: ``(key, value)`` globs the span must carry (``<job_name>=etl``,
            ``checkpointStatus=FAIL*``, ``check*=5``); booleans match ``true``/``false`` in any
            case and numbers match by value (``fullSize=1000`` matches ``1000`` and ``1000.0``).
        trace_ids: trace ids (or their starts) in hex; the span's trace id must start with one.
    """

    names: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    trace_ids: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        names: Sequence[str] = (),
        scopes: Sequence[str] = (),
        attrs: Sequence[str] = (),
        trace_ids: Sequence[str] = (),
    ) -> SpanFilter:
        """Build a filter from ``--name``, ``--scope``, ``--attr key=value``, ``--trace-id``.

        Raises:
            UsageError: an ``--attr`` without ``=`` or with an empty key; a trace id that is
                not hex.
        """
        pairs = []
        for text in attrs:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise UsageError(
                    f"--attr: {escape_text(repr(text))} is not key=value (e.g. --attr "
                    "checkpointStatus=FAILED or --attr '<job_name>=etl')"
                )
            pairs.append((key.strip(), value.strip()))
        ids = []
        for text in trace_ids:
            cleaned = text.strip().lower().replace("-", "")
            if not re.fullmatch(r"[0-9a-f]{1,32}", cleaned):
                raise UsageError(
                    f"--trace-id: {escape_text(repr(text))} is not a trace id; expected up to "
                    "32 hex digits (a prefix matches)"
                )
            ids.append(cleaned)
        return cls(tuple(names), tuple(scopes), tuple(pairs), tuple(ids))

    @property
    def empty(self) -> bool:
        """Whether every span passes."""
        return not (self.names or self.scopes or self.attributes or self.trace_ids)

    def matches(self, span: Span) -> bool:
        """Whether ``span`` passes every criterion."""
        return self._matches(span.name, span.scope, span.trace_id, span.attributes)

    def matches_event(self, event: Event) -> bool:
        """Whether ``event`` passes every criterion (an event without a trace id has none)."""
        return self._matches(event.name, event.scope, event.trace_id, event.attributes)

    def _matches(
        self,
        name: str,
        scope: str,
        trace_id: bytes | None,
        attributes: Mapping[str, AttributeValue],
    ) -> bool:
        if self.names and not any(fnmatch.fnmatchcase(name, p) for p in self.names):
            return False
        if self.scopes:
            short = short_scope(scope)
            if not any(
                fnmatch.fnmatchcase(scope, p) or fnmatch.fnmatchcase(short, p) for p in self.scopes
            ):
                return False
        if self.trace_ids:
            if trace_id is None:
                return False
            trace = trace_id.hex()
            if not any(trace.startswith(prefix) for prefix in self.trace_ids):
                return False
        return all(
            _AttributeMatch(key, value).matches(attributes) for key, value in self.attributes
        )


def ordered_attributes(attributes: Mapping[str, AttributeValue]) -> Iterable[tuple[str, Any]]:
    """Attributes in the order ``--long`` shows them: scope variables (``<job_name>``) first."""
    keys = sorted(attributes, key=lambda k: (not k.startswith("<"), k))
    return ((key, attributes[key]) for key in keys)


# The attributes the compact line shows for Flink's system spans; other spans show their first
# few attributes that are not scope variables.
_KEY_ATTRIBUTES: Final = {
    "Checkpoint": ("checkpointId", "checkpointStatus", "checkpointedSize", "fullSize"),
    "JobInitialization": ("initializationStatus", "checkpointId", "fullSize"),
    "JobFailure": ("canRestart", "isGlobalFailure"),
}
_OTHER_ATTRIBUTES: Final = 4
_MAX_VALUE_CHARS: Final = 40
_MAX_ATTRIBUTES_CHARS: Final = 100


def shown_value(value: AttributeValue) -> str:
    """A value as the compact line shows it: escaped, and cut at 40 characters."""
    text = escape_text(attribute_text(value))
    if len(text) > _MAX_VALUE_CHARS:
        return text[: _MAX_VALUE_CHARS - 1] + "…"
    return text


def key_attributes(
    name: str,
    attributes: Mapping[str, AttributeValue],
    keys_by_name: Mapping[str, tuple[str, ...]],
    *,
    failure_name: str,
) -> list[tuple[str, AttributeValue]]:
    """The attributes a compact line shows for a span or event named ``name``.

    Flink's system spans and events show their keys (``keys_by_name``; ``failure_name`` adds
    its ``failureLabel*`` attributes); others their first few attributes that are not scope
    variables.
    """
    keys = keys_by_name.get(name)
    if keys is not None:
        chosen = [(k, attributes[k]) for k in keys if k in attributes]
        if name == failure_name:
            chosen += sorted((k, v) for k, v in attributes.items() if k.startswith("failureLabel"))
        return chosen
    plain = sorted((k, v) for k, v in attributes.items() if not k.startswith("<"))
    return plain[:_OTHER_ATTRIBUTES]


def compact_parts(
    ts_millis: int,
    attributes: Mapping[str, AttributeValue],
    name: str,
    measure: str,
    shown: Iterable[tuple[str, AttributeValue]],
) -> list[str]:
    """The compact line of a span or event: time, job, name, ``measure``, ``shown`` attributes."""
    job = attributes.get("<job_name>")
    parts = [
        format_ts_millis(ts_millis),
        "-" if job is None else shown_value(job),
        escape_text(name),
        measure,
    ]
    text = " ".join(f"{escape_text(k)}={shown_value(v)}" for k, v in shown)
    if len(text) > _MAX_ATTRIBUTES_CHARS:
        text = text[: _MAX_ATTRIBUTES_CHARS - 1] + "…"
    if text:
        parts.append(text)
    return parts


def long_parts(
    ts_millis: int, measure: str, name: str, scope: str, attributes: Mapping[str, AttributeValue]
) -> list[str]:
    """The ``--long`` line of a span or event: time, ``measure``, name, short scope, attributes."""
    parts = [
        format_ts_millis(ts_millis),
        measure,
        escape_text(name),
        f"[{escape_text(short_scope(scope))}]",
    ]
    text = " ".join(
        f"{escape_text(k)}={escape_text(attribute_text(v))}"
        for k, v in ordered_attributes(attributes)
    )
    if text:
        parts.append(text)
    return parts


def span_line(span: Span) -> str:
    """The compact line ``tail`` prints: start time, job, name, duration, key attributes.

    >>> span = Span.builder("app.Loader", "Load").set_start_ts_millis(1704067200000)
    >>> span_line(span.set_end_ts_millis(1704067200250).set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z  -  Load  250 ms  rows=3'
    """
    shown = key_attributes(span.name, span.attributes, _KEY_ATTRIBUTES, failure_name="JobFailure")
    parts = compact_parts(
        span.start_ts_millis, span.attributes, span.name, f"{span.duration_millis} ms", shown
    )
    return _with_descendants(parts, span, "nested")


def span_line_long(span: Span) -> str:
    """``tail --long``: start, duration, name, short scope, every attribute, nested count.

    >>> span = Span.builder("app.Loader", "Load").set_start_ts_millis(1704067200000)
    >>> span_line_long(span.set_end_ts_millis(1704067200250).set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z      250 ms  Load  [Loader]  rows=3'
    """
    parts = long_parts(
        span.start_ts_millis,
        f"{span.duration_millis:>7} ms",
        span.name,
        span.scope,
        span.attributes,
    )
    return _with_descendants(parts, span, "nested spans")


def _descendants(span: Span) -> int:
    return sum(1 for _ in span.walk()) - 1


def _with_descendants(parts: list[str], span: Span, noun: str) -> str:
    descendants = _descendants(span)
    if descendants:
        parts.append(f"(+{descendants} {noun})")
    return "  ".join(parts)


FORMAT_FIELDS: Final = {
    "kind": "span or event",
    "time": "start time (an event's observed time; ISO 8601 UTC)",
    "end": "end time",
    "duration": "duration in ms",
    "name": "span or event name",
    "scope": "full scope",
    "short_scope": "last part of the scope",
    "job": "<job_name>",
    "trace_id": "trace id (hex)",
    "span_id": "span id (hex)",
    "event_id": "event id (hex)",
    "severity": "event severity",
    "body": "event body",
    "nested": "number of nested spans",
    "topic": "Kafka topic",
    "partition": "partition",
    "offset": "offset",
    "key": "record key",
    "timestamp": "record time",
}
"""``--format`` placeholders (``-`` where one does not apply: a span has no severity, an event
no duration); any other ``{name}`` is the attribute of that key (``-`` if none)."""

_PLACEHOLDER: Final = re.compile(r"\{([^{}]+)\}")


def check_template(template: str) -> str:
    """Check a ``--format`` template: ``{field}`` placeholders and text; returns it.

    Raises:
        UsageError: it has no placeholder, or unbalanced braces.
    """
    stripped = _PLACEHOLDER.sub("", template)
    if "{" in stripped or "}" in stripped or not _PLACEHOLDER.search(template):
        raise UsageError(
            f"--format: {escape_text(repr(template))} needs {{field}} placeholders, e.g. "
            f"'{{time}} {{name}} {{duration}}ms {{checkpointId}}'; fields: "
            + ", ".join(FORMAT_FIELDS)
            + ", or any attribute key"
        )
    return template


def _record_fields(record: SpanRecord | EventRecord) -> dict[str, str]:
    where = {
        "topic": record.topic,
        "partition": str(record.partition),
        "offset": str(record.offset),
        "key": "-" if record.key is None else _bytes_text(record.key),
        "timestamp": "-" if record.timestamp_ms is None else format_ts_millis(record.timestamp_ms),
    }
    if isinstance(record, EventRecord):
        event = record.event
        job = event.attributes.get("<job_name>")
        return {
            "kind": "event",
            "time": format_ts_millis(event.observed_ts_millis),
            "end": "-",
            "duration": "-",
            "name": event.name,
            "scope": event.scope,
            "short_scope": short_scope(event.scope),
            "job": "-" if job is None else attribute_text(job),
            "trace_id": "-" if event.trace_id is None else event.trace_id.hex(),
            "span_id": "-" if event.span_id is None else event.span_id.hex(),
            "event_id": event.event_id.hex(),
            "severity": event.severity,
            "body": event.body,
            "nested": "-",
            **where,
        }
    span = record.span
    job = span.attributes.get("<job_name>")
    return {
        "kind": "span",
        "time": format_ts_millis(span.start_ts_millis),
        "end": format_ts_millis(span.end_ts_millis),
        "duration": str(span.duration_millis),
        "name": span.name,
        "scope": span.scope,
        "short_scope": short_scope(span.scope),
        "job": "-" if job is None else attribute_text(job),
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "event_id": "-",
        "severity": "-",
        "body": "-",
        "nested": str(_descendants(span)),
        **where,
    }


def render_template(template: str, record: SpanRecord | EventRecord) -> str:
    """Fill a ``--format`` template for one span or event record (values escaped onto one line)."""
    fields = _record_fields(record)
    attributes = (
        record.event.attributes if isinstance(record, EventRecord) else record.span.attributes
    )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in fields:
            return escape_text(fields[name])
        value = attributes.get(name)
        return "-" if value is None else escape_text(attribute_text(value))

    return _PLACEHOLDER.sub(fill, template)


def span_to_dict(span: Span) -> dict[str, Any]:
    """A span (and its children) as plain JSON-ready data; ids as lowercase hex."""
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "scope": span.scope,
        "name": span.name,
        "start_ts_millis": span.start_ts_millis,
        "end_ts_millis": span.end_ts_millis,
        "duration_millis": span.duration_millis,
        "attributes": dict(span.attributes),
        "children": [span_to_dict(child) for child in span.children],
    }


def _bytes_text(value: bytes) -> str:
    return value.decode("utf-8", errors="backslashreplace")


def json_bytes(value: bytes | None) -> str | None:
    """Bytes for JSON: UTF-8 text when they are, else ``base64:...``."""
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def span_json(span: Span, **record: object) -> str:
    """One line of JSON for a span; ``record`` adds fields such as topic, partition, offset."""
    document = span_to_dict(span)
    document.update(record)
    return json.dumps(document, separators=(",", ":"), allow_nan=True)


def record_json(record: SpanRecord) -> str:
    """``tail --json``: the span plus ``"kind": "span"`` and its record's place and headers.

    The record's fields are topic, partition, offset, timestamp_ms, key and headers.

    ``key`` and header values are text when they are UTF-8 and ``base64:...`` otherwise;
    ``headers`` is a list of ``[name, value]`` pairs (a name may repeat; a value may be null).
    """
    return span_json(record.span, kind="span", **record_place(record))


def record_place(record: SpanRecord | EventRecord) -> dict[str, object]:
    """A record's place and headers as ``--json`` shows them (for spans and events alike)."""
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "key": json_bytes(record.key),
        "headers": [[name, json_bytes(value)] for name, value in record.headers],
    }
