"""The OpenTelemetry reference path: SDK tracer, BatchSpanProcessor, OTLP protobuf, Kafka.

There is no Kafka span exporter for OpenTelemetry Python, so this module writes the obvious one
on the pieces OpenTelemetry ships: ``encode_spans`` (OTLP protobuf, from
``opentelemetry-exporter-otlp-proto-common``) and a confluent-kafka producer. With
``per_span=True`` each span is one Kafka record (one ``ExportTraceServiceRequest`` holding one
span: the shape spanstream, Jaeger and the raw limit use); otherwise each export batch (up to
512 spans) is one record, as the OpenTelemetry Collector's Kafka exporter does with
``otlp_proto``. The benchmarks show both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from _harness import (
    SCOPE,
    SCOPE_VARIABLES,
    TASK_FIXED_ATTRIBUTES,
    TASK_SPAN_NAME,
    VERTEX_IDS,
    WIDE_FIXED_ATTRIBUTES,
    WIDE_SPAN_NAME,
)
from confluent_kafka import KafkaError, Message, Producer
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class KafkaOtlpSpanExporter(SpanExporter):  # type: ignore[misc]
    """Encodes each export batch as OTLP protobuf and produces it to Kafka."""

    def __init__(self, producer: Producer, topic: str, *, per_span: bool = False) -> None:
        self._producer = producer
        self._topic = topic
        self._per_span = per_span
        self._lock = threading.Lock()
        self.delivered_spans = 0
        self.failed_spans = 0
        self.exported_spans = 0
        self.messages = 0
        self.bytes = 0

    def _callback(self, count: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            with self._lock:
                if err is None:
                    self.delivered_spans += count
                else:
                    self.failed_spans += count

        return on_delivery

    def _produce(self, value: bytes, count: int) -> None:
        while True:
            try:
                self._producer.produce(self._topic, value, on_delivery=self._callback(count))
            except BufferError:
                self._producer.poll(0.05)
            else:
                self.messages += 1
                self.bytes += len(value)
                return

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Encode and produce; delivery is reported asynchronously."""
        if self._per_span:
            for span in spans:
                self._produce(encode_spans([span]).SerializeToString(), 1)
        else:
            self._produce(encode_spans(spans).SerializeToString(), len(spans))
        self.exported_spans += len(spans)
        self._producer.poll(0)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait for every produced message's delivery report."""
        return int(self._producer.flush(timeout_millis / 1000)) == 0

    def shutdown(self) -> None:
        """Flush what is in flight."""
        self._producer.flush(30)


class NoopSpanExporter(SpanExporter):  # type: ignore[misc]
    """Drops every batch: the SDK's own cost with no encoding and no I/O."""

    def __init__(self) -> None:
        self.exported_spans = 0
        self.delivered_spans = 0
        self.failed_spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Count and drop."""
        self.exported_spans += len(spans)
        self.delivered_spans += len(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Nothing is in flight."""
        return True

    def shutdown(self) -> None:
        """Nothing to release."""


@dataclass
class OtelPipeline:
    """A tracer provider wired to a batch processor and an exporter."""

    provider: TracerProvider
    processor: BatchSpanProcessor
    exporter: KafkaOtlpSpanExporter | NoopSpanExporter
    tracer: Any

    def drain(self) -> None:
        """Export everything queued and wait for its delivery."""
        self.processor.force_flush()
        self.exporter.force_flush()

    def close(self) -> None:
        """Shut the provider (processor and exporter) down."""
        self.provider.shutdown()


def otel_pipeline(
    *,
    bootstrap: str | None,
    topic: str | None,
    per_span: bool = False,
    max_queue_size: int | None = None,
    producer_settings: dict[str, Any] | None = None,
) -> OtelPipeline:
    """Build the reference pipeline; ``bootstrap=None`` gives the no-op exporter.

    ``max_queue_size=None`` keeps the SDK's default (2048, evicting the oldest span when full).
    """
    exporter: KafkaOtlpSpanExporter | NoopSpanExporter
    if bootstrap is None or topic is None:
        exporter = NoopSpanExporter()
    else:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
        }
        config.update(producer_settings or {})
        exporter = KafkaOtlpSpanExporter(Producer(config), topic, per_span=per_span)
    # The scope variables become resource attributes: OTLP carries them once per batch.
    resource = Resource.create({"service.name": "benchmark-job", **SCOPE_VARIABLES})
    provider = TracerProvider(resource=resource)
    processor = BatchSpanProcessor(exporter, max_queue_size=max_queue_size)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer(SCOPE)
    return OtelPipeline(provider, processor, exporter, tracer)


def start_spans(tracer: Any, start: int, count: int, shape: str = "flat") -> None:
    """The measured caller loop: the same shape as spanstream's, ``count`` root spans."""
    if shape == "wide":
        _start_wide(tracer, start, count)
    elif shape == "tree":
        _start_tree(tracer, start, count)
    else:
        _start_flat(tracer, start, count)


def _start_wide(tracer: Any, start: int, count: int) -> None:
    start_span = tracer.start_span
    fixed = WIDE_FIXED_ATTRIBUTES
    for i in range(start, start + count):
        span = start_span(WIDE_SPAN_NAME)
        span.set_attribute("request.id", f"req-{i:012d}")
        for key, value in fixed:
            span.set_attribute(key, value)
        span.end()


def _start_tree(tracer: Any, start: int, count: int) -> None:
    """A parent span and 8 child spans in its context (OTel's shape of a checkpoint tree)."""
    from opentelemetry.trace import set_span_in_context

    start_span = tracer.start_span
    tasks = tuple(zip(VERTEX_IDS, TASK_FIXED_ATTRIBUTES, strict=True))
    for i in range(start, start + count):
        span = start_span("Checkpoint")
        span.set_attribute("checkpointId", i)
        span.set_attribute("fullSize", 123_456_789)
        span.set_attribute("checkpointedSize", 4_567_890)
        span.set_attribute("checkpointStatus", "COMPLETED")
        span.set_attribute("checkpointType", "Checkpoint")
        span.set_attribute("isUnaligned", "false")
        span.set_attribute("metadataSize", 2_731)
        context = set_span_in_context(span)
        for vertex_id, fixed in tasks:
            child = start_span(TASK_SPAN_NAME, context=context)
            child.set_attribute("checkpointId", i)
            child.set_attribute("jobVertexId", vertex_id)
            for key, value in fixed:
                child.set_attribute(key, value)
            child.end()
        span.end()


def _start_flat(tracer: Any, start: int, count: int) -> None:
    start_span = tracer.start_span
    for i in range(start, start + count):
        span = start_span("Checkpoint")
        span.set_attribute("checkpointId", i)
        span.set_attribute("fullSize", 123_456_789)
        span.set_attribute("checkpointedSize", 4_567_890)
        span.set_attribute("checkpointStatus", "COMPLETED")
        span.set_attribute("checkpointType", "Checkpoint")
        span.set_attribute("isUnaligned", "false")
        span.set_attribute("metadataSize", 2_731)
        span.end()
