"""spanstream spans as OpenTelemetry SDK spans, keeping spanstream's own ids.

A span tree becomes one OpenTelemetry span per node: the root has no parent, every child is a
child span of its parent, and every node keeps its trace id and span id, so a span is found by
the same ids on the Kafka topic and in the trace viewer. The span's scope is the
instrumentation scope (Flink's "one tracer per span scope"); attribute keys lose one leading
``<`` and one trailing ``>`` (Flink's ``VariableNameUtil``), so ``<job_id>`` becomes ``job_id``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from spanstream.schemas import AttributeValue, Span

__all__ = [
    "CLAMPED_END_ATTRIBUTE",
    "FLINK_RESOURCE_VARIABLES",
    "attribute_key",
    "otel_attributes",
    "to_otel_spans",
]

FLINK_RESOURCE_VARIABLES: Final = frozenset({"<host>", "<job_name>", "<job_id>", "<tm_id>"})
"""The scope variables that describe where a span came from rather than what it did; the
forwarder makes them resource attributes (``host``, ``job_name``, ``job_id``, ``tm_id``)."""

CLAMPED_END_ATTRIBUTE: Final = "spanstream.end_ts_millis"
"""Set, with the original value, on a span whose end was before its start (a FAILED checkpoint
that no subtask acknowledged ends at -1): OTLP times are unsigned, so the end becomes the
start."""

_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_UNSET: Final = Status(StatusCode.UNSET)
_NS_PER_MS: Final = 1_000_000


def attribute_key(key: str) -> str:
    """Strip one leading ``<`` and one trailing ``>``, as Flink's ``VariableNameUtil`` does.

    >>> attribute_key("<job_id>"), attribute_key("checkpointId")
    ('job_id', 'checkpointId')
    """
    if key.startswith("<"):
        key = key[1:]
    if key.endswith(">"):
        key = key[:-1]
    return key


def otel_attributes(
    attributes: Mapping[str, AttributeValue], *, skip: Collection[str] = ()
) -> dict[str, AttributeValue]:
    """``attributes`` with keys stripped of ``<>``, leaving out the keys in ``skip``.

    Every value is kept: OpenTelemetry takes str, int, float and bool alike (Flink's reporter
    drops booleans with "Unsupported attribute type"). A stripped variable key replaces a plain
    attribute of the same name, as a Flink scope variable overwrites a user attribute.
    """
    plain: dict[str, AttributeValue] = {}
    variables: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if key in skip:
            continue
        if key.startswith("<") or key.endswith(">"):
            variables[attribute_key(key)] = value
        else:
            plain[key] = value
    plain.update(variables)
    return plain


def _context(span: Span) -> SpanContext:
    return SpanContext(
        trace_id=int.from_bytes(span.trace_id, "big"),
        span_id=int.from_bytes(span.span_id, "big"),
        is_remote=False,
        trace_flags=_SAMPLED,
    )


def to_otel_spans(
    span: Span,
    *,
    resource: Resource,
    resource_variables: Collection[str] = (),
    scopes: dict[str, InstrumentationScope] | None = None,
) -> list[ReadableSpan]:
    """The OpenTelemetry spans of ``span``'s tree, root first, parents before children.

    Args:
        span: a finished spanstream span (its children come along).
        resource: the resource every span of the tree is exported with.
        resource_variables: attribute keys left out of the span attributes because the caller
            put them into ``resource``.
        scopes: a cache of instrumentation scopes by name, shared between calls.
    """
    cache = scopes if scopes is not None else {}
    result: list[ReadableSpan] = []
    contexts: dict[bytes, SpanContext] = {}
    for node, parent, _depth in span.walk():
        context = _context(node)
        contexts[node.span_id] = context
        scope = cache.get(node.scope)
        if scope is None:
            scope = cache[node.scope] = InstrumentationScope(node.scope)
        attributes = otel_attributes(node.attributes, skip=resource_variables)
        start_ms = max(node.start_ts_millis, 0)
        end_ms = node.end_ts_millis
        if end_ms < start_ms:
            attributes[CLAMPED_END_ATTRIBUTE] = end_ms
            end_ms = start_ms
        result.append(
            ReadableSpan(
                name=node.name,
                context=context,
                parent=None if parent is None else contexts[parent.span_id],
                resource=resource,
                attributes=attributes,
                kind=SpanKind.INTERNAL,
                instrumentation_scope=scope,
                status=_UNSET,
                start_time=start_ms * _NS_PER_MS,
                end_time=end_ms * _NS_PER_MS,
            )
        )
    return result
