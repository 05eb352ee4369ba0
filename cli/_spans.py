"""Spans on the command line: filters (``--name``, ``--scope``, ``--attr``) and renderings."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spanstream.cli._exit import UsageError
from spanstream.cli._timerange import format_ts_millis
from spanstream.schemas import AttributeValue, Span

__all__ = ["SpanFilter", "attribute_text", "span_json", "span_line", "span_to_dict"]


def attribute_text(value: AttributeValue) -> str:
    """An attribute value as text: booleans as ``true``/``false``, as on the wire's readers."""
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class SpanFilter:
    """Which top-level spans to keep: every given criterion must match.

    Attributes:
        names: glob patterns (``Checkpoint*``); the span's name must match one of them.
        scopes: glob patterns; the span's scope must match one (``*CheckpointStatsTracker``).
        attributes: ``(key, value)`` pairs the span must carry, compared as text
            (``<job_name>=etl``, ``checkpointStatus=FAILED``, ``cacheHit=true``).
    """

    names: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(
        cls, *, names: Sequence[str] = (), scopes: Sequence[str] = (), attrs: Sequence[str] = ()
    ) -> SpanFilter:
        """Build a filter from ``--name``, ``--scope`` and ``--attr key=value`` options.

        Raises:
            UsageError: an ``--attr`` without ``=`` or with an empty key.
        """
        pairs = []
        for text in attrs:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise UsageError(
                    f"--attr: {text!r} is not key=value (e.g. --attr checkpointStatus=FAILED "
                    "or --attr '<job_name>=etl')"
                )
            pairs.append((key.strip(), value.strip()))
        return cls(tuple(names), tuple(scopes), tuple(pairs))

    @property
    def empty(self) -> bool:
        """Whether every span passes."""
        return not (self.names or self.scopes or self.attributes)

    def matches(self, span: Span) -> bool:
        """Whether ``span`` passes every criterion."""
        if self.names and not any(fnmatch.fnmatchcase(span.name, p) for p in self.names):
            return False
        if self.scopes and not any(fnmatch.fnmatchcase(span.scope, p) for p in self.scopes):
            return False
        attributes = span.attributes
        for key, value in self.attributes:
            found = attributes.get(key)
            if found is None or attribute_text(found) != value:
                return False
        return True


def _short_scope(scope: str) -> str:
    return scope.rsplit(".", 1)[-1]


def _ordered_attributes(attributes: Mapping[str, AttributeValue]) -> Iterable[tuple[str, Any]]:
    # Scope variables (<job_name>, <host>, ...) first: they say where the span came from.
    keys = sorted(attributes, key=lambda k: (not k.startswith("<"), k))
    return ((key, attributes[key]) for key in keys)


def span_line(span: Span) -> str:
    """One line for a span: start time, duration, name, short scope, attributes, children.

    >>> span = Span.builder("app.Loader", "Load").set_start_ts_millis(1704067200000)
    >>> span_line(span.set_end_ts_millis(1704067200250).set_attribute("rows", 3).build())
    '2024-01-01T00:00:00.000Z     250 ms  Load  [Loader]  rows=3'
    """
    parts = [
        format_ts_millis(span.start_ts_millis),
        f"{span.duration_millis:>7} ms",
        span.name,
        f"[{_short_scope(span.scope)}]",
    ]
    attributes = " ".join(
        f"{k}={attribute_text(v)}" for k, v in _ordered_attributes(span.attributes)
    )
    if attributes:
        parts.append(attributes)
    descendants = sum(1 for _ in span.walk()) - 1
    if descendants:
        parts.append(f"(+{descendants} nested spans)")
    return "  ".join(parts)


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


def span_json(span: Span, **record: object) -> str:
    """One line of JSON for a span; ``record`` adds fields such as topic, partition, offset."""
    document = span_to_dict(span)
    document.update(record)
    return json.dumps(document, separators=(",", ":"), allow_nan=True)
