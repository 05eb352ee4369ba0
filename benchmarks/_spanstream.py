"""The spanstream side of each row: a metric group with the Kafka reporter, and the spans.

Kept in one place so that every benchmark builds the same pipeline with the same settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from _harness import (
    SCOPE,
    SCOPE_VARIABLES,
    SPAN_NAME,
    TASK_FIXED_ATTRIBUTES,
    TASK_SPAN_NAME,
    TREE_CHILDREN,
    VERTEX_IDS,
    WIDE_FIXED_ATTRIBUTES,
    WIDE_SCOPE,
    WIDE_SPAN_NAME,
    checkpoint_attributes,
    task_attributes,
    wide_attributes,
)

from spanstream.schemas import Span, SpanBuilder, encode_span


def _builder(i: int, shape: str) -> SpanBuilder:
    if shape == "wide":
        return Span.builder(WIDE_SCOPE, WIDE_SPAN_NAME).set_attributes(wide_attributes(i))
    builder = Span.builder(SCOPE, SPAN_NAME).set_attributes(checkpoint_attributes(i))
    if shape == "tree":
        for task in range(TREE_CHILDREN):
            child = Span.builder(SCOPE, TASK_SPAN_NAME).set_attributes(task_attributes(i, task))
            builder.add_child(child)
    return builder


def built_span(i: int, shape: str = "flat") -> Span:
    """The span ``add_span`` would build for index ``i`` (scope variables merged everywhere)."""
    return _builder(i, shape).build(extra_attributes=SCOPE_VARIABLES)


def encoded_spans(count: int, shape: str = "flat") -> list[bytes]:
    """``count`` distinct encoded span messages, as the reporter would put on the wire."""
    return [encode_span(built_span(i, shape)) for i in range(count)]


def message_key() -> bytes:
    """The key the reporter's default strategy gives these spans (the ``<job_id>`` variable)."""
    return SCOPE_VARIABLES["<job_id>"].encode()


def record_headers() -> list[tuple[str, bytes]]:
    """The headers the reporter puts on every record by default (the same records, raw)."""
    from importlib.metadata import version

    from spanstream.producer._kafka_reporter import (
        CONTENT_TYPE,
        HEADER_CONTENT_TYPE,
        HEADER_PRODUCER,
        HEADER_SCHEMA_FINGERPRINT,
    )
    from spanstream.schemas import SCHEMA_FINGERPRINT

    return [
        (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        (HEADER_SCHEMA_FINGERPRINT, SCHEMA_FINGERPRINT.hex().encode()),
        (HEADER_PRODUCER, f"spanstream/{version('spanstream')}".encode()),
    ]


def reporter_producer_settings() -> dict[str, Any]:
    """The librdkafka settings the reporter uses by default beyond acks=all and idempotence.

    The raw limit and the OpenTelemetry path use them too, so that every publish row runs
    the same client configuration.
    """
    from spanstream.producer._kafka_config import DEFAULT_COMPRESSION

    return {"compression.type": DEFAULT_COMPRESSION, "linger.ms": 5}


class Pipeline:
    """A root metric group reporting to one KafkaTraceReporter, configured as Flink would be.

    The reporter is started through ``ReporterRegistry.from_config`` with Flink's
    ``traces.reporter.<name>.*`` keys (the ``kafka`` factory entry point), so the measured path
    is the one an application gets.
    """

    NAME = "kafka"

    def __init__(self, *, bootstrap: str, topic: str, settings: Mapping[str, object]) -> None:
        from spanstream.producer import ReporterRegistry

        prefix = f"traces.reporter.{self.NAME}."
        values: dict[str, object] = {"bootstrap.servers": bootstrap, "topic": topic}
        values.update(settings)
        config: dict[str, object] = {prefix + "factory.class": "kafka"}
        config.update({prefix + key: value for key, value in values.items()})
        self.registry = ReporterRegistry.from_config(config)
        self.reporter: Any = self.registry.reporter(self.NAME)
        self.group: Any = self.registry.root_group(name="jobmanager", variables=SCOPE_VARIABLES)

    def counters(self) -> dict[str, Any]:
        """The reporter's counters (``KafkaReporterStats``) as plain JSON-able values."""
        from dataclasses import fields

        snapshot = self.reporter.snapshot()
        out: dict[str, Any] = {}
        for f in fields(snapshot):
            value = getattr(snapshot, f.name)
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    def flush(self, timeout_s: float) -> int:
        """Wait for delivery; return how many spans were still pending."""
        return int(self.reporter.flush(timeout_s))

    def close(self, timeout_s: float = 30.0) -> None:
        """Close the reporter (and the registry)."""
        self.reporter.close(timeout_s)
        self.registry.close()


def add_spans(group: Any, start: int, count: int, shape: str = "flat") -> None:
    """The measured caller loop: build a span of ``shape`` and hand it over, ``count`` times."""
    if shape == "wide":
        _add_wide(group, start, count)
    elif shape == "tree":
        _add_tree(group, start, count)
    else:
        _add_flat(group, start, count)


def _add_wide(group: Any, start: int, count: int) -> None:
    add_span = group.add_span
    builder = Span.builder
    fixed = WIDE_FIXED_ATTRIBUTES
    for i in range(start, start + count):
        span = builder(WIDE_SCOPE, WIDE_SPAN_NAME).set_attribute("request.id", f"req-{i:012d}")
        for key, value in fixed:
            span.set_attribute(key, value)
        add_span(span)


def _add_tree(group: Any, start: int, count: int) -> None:
    add_span = group.add_span
    builder = Span.builder
    tasks = tuple(zip(VERTEX_IDS, TASK_FIXED_ATTRIBUTES, strict=True))
    for i in range(start, start + count):
        root = (
            builder(SCOPE, SPAN_NAME)
            .set_attribute("checkpointId", i)
            .set_attribute("fullSize", 123_456_789)
            .set_attribute("checkpointedSize", 4_567_890)
            .set_attribute("checkpointStatus", "COMPLETED")
            .set_attribute("checkpointType", "Checkpoint")
            .set_attribute("isUnaligned", "false")
            .set_attribute("metadataSize", 2_731)
        )
        for vertex_id, fixed in tasks:
            child = (
                builder(SCOPE, TASK_SPAN_NAME)
                .set_attribute("checkpointId", i)
                .set_attribute("jobVertexId", vertex_id)
            )
            for key, value in fixed:
                child.set_attribute(key, value)
            root.add_child(child)
        add_span(root)


def _add_flat(group: Any, start: int, count: int) -> None:
    add_span = group.add_span
    builder = Span.builder
    for i in range(start, start + count):
        add_span(
            builder(SCOPE, SPAN_NAME)
            .set_attribute("checkpointId", i)
            .set_attribute("fullSize", 123_456_789)
            .set_attribute("checkpointedSize", 4_567_890)
            .set_attribute("checkpointStatus", "COMPLETED")
            .set_attribute("checkpointType", "Checkpoint")
            .set_attribute("isUnaligned", "false")
            .set_attribute("metadataSize", 2_731)
        )
