"""The Kafka trace reporter: spans become Avro records on a Kafka topic, never blocking the caller.

A thin user of :class:`~spanstream.producer._kafka_sender.KafkaSender` (the bounded hand-off
queue, the sender thread and the delivery accounting; its module docstring tells how a record
travels, the memory bounds, fork and exit). What is the trace reporter's own: spans are encoded
with :func:`spanstream.schemas.encode_span`, keyed by the ``key`` strategy, checked against the
``span.max.*`` limits, and carry the span schema's fingerprint header.

How a span travels, in short: ``notify_of_added_span`` (the application's thread) appends the
span to the bounded queue and returns; the sender thread encodes it and hands the record to
librdkafka; librdkafka reports failures only, and the sender derives the delivered count.
:meth:`KafkaTraceReporter.snapshot` reads the counters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

from spanstream.producer._config import MetricConfig
from spanstream.producer._kafka_config import DEFAULT_TOPIC, REPORTER_KEYS
from spanstream.producer._kafka_reporter_base import KafkaReporterBase, RecordFormat
from spanstream.producer._reporter import ReporterKeys
from spanstream.producer._span_limits import SPAN_LIMIT_KEYS, SpanLimits
from spanstream.schemas import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
    SCHEMA_FINGERPRINT,
    Span,
    encode_span,
)

__all__ = [
    "CONTENT_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_FINGERPRINT",
    "KafkaTraceReporter",
    "KafkaTraceReporterFactory",
]

_LOG: Final = logging.getLogger("spanstream.producer.kafka")


def _trace_id_key(span: Span) -> bytes:
    return span.trace_id.hex().encode()


_SPAN_RECORDS: Final = RecordFormat(DEFAULT_TOPIC, SCHEMA_FINGERPRINT, encode_span, _trace_id_key)
"""Span records: ``encode_span``, the span schema's fingerprint, keyed by the trace id."""


class KafkaTraceReporter(KafkaReporterBase[Span]):
    """A :class:`~spanstream.producer.TraceReporter` that publishes spans to a Kafka topic.

    Configure it under ``traces.reporter.<name>.*`` (see the README's "Kafka reporter
    configuration" table); the registry calls :meth:`open`. ``notify_of_added_span`` never
    blocks and never raises; :meth:`snapshot` tells what became of every span;
    :meth:`flush` and :meth:`close` honour their deadlines and return how many spans were still
    pending. The sender's module docstring describes the queue bounds, the overflow policy and
    fork.

    Example:
        >>> reporter = KafkaTraceReporter()
        >>> reporter.open(MetricConfig(                                  # doctest: +SKIP
        ...     {"bootstrap.servers": "127.0.0.1:9092", "topic": "flink-traces"},
        ...     prefix="traces.reporter.kafka.",
        ... ))
        >>> reporter.notify_of_added_span(Span.builder("app.Job", "Load").build())  # doctest: +SKIP
        >>> reporter.close(5.0)                                          # doctest: +SKIP
        0
    """

    __slots__ = {
        "notify_of_added_span": "Hand the span to the sender and return at once. Never blocks, "
        "never raises."
    }

    notify_of_added_span: Callable[[Span], None]

    def __init__(self) -> None:
        super().__init__(_SPAN_RECORDS, label="Kafka trace reporter", noun="span", log=_LOG)
        # The sender's offer itself: the caller's path is one Python call (len and append).
        self.notify_of_added_span = self._sender.offer

    def _too_large(self, config: MetricConfig) -> Callable[[Span], bool] | None:
        """The ``span.max.*`` limits' check, when any is set."""
        limits = SpanLimits.from_metric_config(config)
        return _limit_check(limits) if limits.active else None


class KafkaTraceReporterFactory:
    """Creates :class:`KafkaTraceReporter` instances (entry point ``kafka``).

    Name it in the configuration as ``traces.reporter.<name>.factory.class: kafka``.
    """

    reporter_keys = ReporterKeys(REPORTER_KEYS[0] | SPAN_LIMIT_KEYS, REPORTER_KEYS[1])
    """The keys the reporter reads (its limits' too) and ``producer.*``; the registry rejects any
    other."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> KafkaTraceReporter:
        """Return a new, not yet opened, reporter; its settings come with ``open``."""
        del properties
        return KafkaTraceReporter()


def _limit_check(limits: SpanLimits) -> Callable[[Span], bool]:
    def breaks_a_limit(span: Span) -> bool:
        return limits.violation(span) is not None

    return breaks_a_limit
