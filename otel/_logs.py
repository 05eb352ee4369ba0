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
from collections.abc import Collection, Iterable
from typing import Final

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

from spanstream.otel._resources import make_resource
from spanstream.otel._spans import attribute_key, otel_attributes
from spanstream.schemas import AttributeValue, Event

__all__ = ["EVENT_ID_ATTRIBUTE", "EVENT_NAME_ATTRIBUTE", "LogRequestEncoder", "to_otel_log"]

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
    resource_variables: Collection[str] = (),
) -> ReadableLogRecord:
    """The OpenTelemetry log record of ``event`` (see the module docstring).

    Args:
        event: a finished event.
        resource: the resource it is exported with.
        scopes: a cache of instrumentation scopes by name, shared between calls.
        timestamp_ns: the record's timestamp; now by default (Flink's reporter stamps the time
            of reporting; the event's own time is the observed time).
        resource_variables: attribute keys left out because the caller put them in ``resource``.
    """
    cache = scopes if scopes is not None else {}
    scope = cache.get(event.scope)
    if scope is None:
        scope = cache[event.scope] = InstrumentationScope(event.scope)
    attributes = otel_attributes(event.attributes, skip=resource_variables)
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


class LogRequestEncoder:
    """Builds OTLP log requests from events (the forwarder's), through the SDK's encoder.

    Events are few beside spans (a handful per checkpoint), so they take the reference path:
    :func:`to_otel_log` and the SDK's ``encode_logs``. The record's timestamp is the observed
    time (a forwarded event is not new), and a resource is made per distinct set of the
    ``resource_variables`` values, as :class:`TraceRequestEncoder` does for span trees.
    """

    __slots__ = ("_base", "_resources", "_scopes", "_variables")

    def __init__(
        self, base_resource: dict[str, AttributeValue], resource_variables: Collection[str] = ()
    ) -> None:
        self._base = dict(base_resource)
        self._variables: tuple[str, ...] = tuple(sorted(resource_variables))
        self._resources: dict[tuple[tuple[type, AttributeValue | None], ...], Resource] = {}
        self._scopes: dict[str, InstrumentationScope] = {}

    def encode(self, events: Iterable[Event]) -> tuple[ExportLogsServiceRequest, int]:
        """One request for ``events``; returns it and the record count."""
        records = []
        for event in events:
            values = tuple(event.attributes.get(name) for name in self._variables)
            key = tuple((type(value), value) for value in values)
            resource = self._resources.get(key)
            if resource is None:
                attributes = dict(self._base)
                for name, value in zip(self._variables, values, strict=True):
                    if value is not None:
                        attributes[attribute_key(name)] = value
                resource = self._resources[key] = make_resource(attributes)
            records.append(
                to_otel_log(
                    event,
                    resource=resource,
                    scopes=self._scopes,
                    timestamp_ns=max(event.observed_ts_millis, 0) * _NS_PER_MS,
                    resource_variables=self._variables,
                )
            )
        return encode_logs(records), len(records)
