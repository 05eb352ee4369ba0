"""spanstream events as OpenTelemetry log records, as Flink's ``OpenTelemetryEventReporter``.

One logger per class scope (the instrumentation scope); the body, the severity text, and the
severity number when the text names one (``INFO``, ``WARN``, ``ERROR2``... in any case, as the
OpenTelemetry enum; otherwise unspecified, as in Flink); the observed time; the attributes with
``<>`` stripped from keys, plus ``name`` = the event's name (Flink's) and
``spanstream.event_id`` (the event id in hex). An event reported inside a span carries that
span's trace and span ids, so the viewer shows it beside the span.
"""

from __future__ import annotations

import time
from typing import Final

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from spanstream.otel._spans import otel_attributes
from spanstream.schemas import Event

__all__ = ["EVENT_ID_ATTRIBUTE", "EVENT_NAME_ATTRIBUTE", "to_otel_log"]

EVENT_NAME_ATTRIBUTE: Final = "name"
"""The log attribute that holds the event's name (Flink's choice)."""
EVENT_ID_ATTRIBUTE: Final = "spanstream.event_id"
"""The log attribute that holds the event's 16-byte id, in hex."""

_NS_PER_MS: Final = 1_000_000
_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)


def _severity_number(text: str) -> SeverityNumber:
    try:
        return SeverityNumber[text.strip().upper()]
    except KeyError:
        return SeverityNumber.UNSPECIFIED


def to_otel_log(
    event: Event,
    *,
    resource: Resource,
    scopes: dict[str, InstrumentationScope] | None = None,
    timestamp_ns: int | None = None,
) -> ReadableLogRecord:
    """The OpenTelemetry log record of ``event`` (see the module docstring).

    Args:
        event: a finished event.
        resource: the resource it is exported with.
        scopes: a cache of instrumentation scopes by name, shared between calls.
        timestamp_ns: the record's timestamp; now by default (Flink's reporter stamps the time
            of reporting; the event's own time is the observed time).
    """
    cache = scopes if scopes is not None else {}
    scope = cache.get(event.scope)
    if scope is None:
        scope = cache[event.scope] = InstrumentationScope(event.scope)
    attributes = otel_attributes(event.attributes)
    attributes[EVENT_NAME_ATTRIBUTE] = event.name
    attributes[EVENT_ID_ATTRIBUTE] = event.event_id.hex()
    context = None
    if event.trace_id is not None and event.span_id is not None:
        span_context = SpanContext(
            trace_id=int.from_bytes(event.trace_id, "big"),
            span_id=int.from_bytes(event.span_id, "big"),
            is_remote=False,
            trace_flags=_SAMPLED,
        )
        context = set_span_in_context(NonRecordingSpan(span_context))
    record = LogRecord(
        timestamp=time.time_ns() if timestamp_ns is None else timestamp_ns,
        observed_timestamp=max(event.observed_ts_millis, 0) * _NS_PER_MS,
        context=context,
        severity_text=event.severity,
        severity_number=_severity_number(event.severity),
        body=event.body,
        attributes=attributes,
        event_name=event.name,
    )
    return ReadableLogRecord(log_record=record, resource=resource, instrumentation_scope=scope)
