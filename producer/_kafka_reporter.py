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
from spanstream.producer._delivery_stats import KafkaReporterStats
from spanstream.producer._kafka_config import REPORTER_KEYS, KafkaReporterConfig
from spanstream.producer._kafka_producer import record_headers
from spanstream.producer._kafka_sender import KafkaSender
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


class KafkaTraceReporter:
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

    __slots__ = ("__weakref__", "_sender")

    def __init__(self) -> None:
        self._sender: KafkaSender[Span] = KafkaSender(
            label="Kafka trace reporter", noun="span", log=_LOG
        )

    def notify_of_added_span(self, span: Span) -> None:
        """Hand the span to the sender and return at once. Never blocks, never raises."""
        # KafkaSender.offer, inlined: the caller's path makes no Python call of its own.
        sender = self._sender
        queue = sender.queue
        if len(queue) < sender.max_queued:
            queue.append(span)
            if sender.idle:
                sender.wake.set()
            return
        sender.overflow(span)

    def open(self, config: MetricConfig) -> None:
        """Validate the configuration, create the producer, check the topic, start the sender.

        The topic is checked (and created when missing, with ``topic.create``) for at most
        ``open.timeout.s``; when the broker cannot be reached in that time, ``open`` returns
        anyway and the sender keeps trying, holding spans in the bounded queue meanwhile.

        Raises:
            ConfigError: a setting is invalid (a librdkafka property included), or the broker
                answered that the topic is missing while ``topic.create`` is off, or refused to
                create it as configured.
            ReporterStateError: the reporter was opened before.
            BrokerError: the Kafka client failed in another way.
        """
        sender = self._sender
        with sender.opening():
            limits = SpanLimits.from_metric_config(config)
            settings = KafkaReporterConfig.from_metric_config(config)
            sender.open(
                settings,
                encode=encode_span,
                key_of=_key_function(settings),
                headers=record_headers(settings, SCHEMA_FINGERPRINT),
                too_large=_limit_check(limits) if limits.active else None,
            )

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every accepted span has an outcome, or until ``timeout_s`` has passed.

        Args:
            timeout_s: the deadline in seconds (default: ``flush.timeout.s``).

        Returns:
            How many spans were still pending (0 when everything was delivered or dropped).
        """
        return self._sender.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> int:
        """Stop accepting spans, deliver what is queued within ``timeout_s``, then stop.

        Spans notified after ``close`` started are counted as dropped ``closed``; spans still
        pending at the deadline are dropped ``closed`` too (records already in librdkafka are
        purged). A second ``close`` does nothing and returns the first one's answer.

        Args:
            timeout_s: the deadline in seconds (default: ``close.timeout.s``).

        Returns:
            How many spans were still pending at the deadline (and so were dropped).
        """
        return self._sender.close(timeout_s)

    def snapshot(self) -> KafkaReporterStats:
        """Return the counters now (see :class:`KafkaReporterStats` for their invariant)."""
        return self._sender.snapshot()

    def __repr__(self) -> str:
        sender = self._sender
        config = sender.config
        state = sender.state.value
        if config is None:
            return f"KafkaTraceReporter(state={state!r})"
        return (
            f"KafkaTraceReporter(name={config.name!r}, topic={config.topic!r}, "
            f"bootstrap_servers={config.bootstrap_servers!r}, state={state!r})"
        )


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


# -- keys and headers -------------------------------------------------------------------------


def _no_key(span: Span) -> bytes | None:
    del span
    return None


def _attribute_text(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _key_function(config: KafkaReporterConfig) -> Callable[[Span], bytes | None]:
    """Return the function that gives a span's record key, for the configured strategy.

    ``job-id``: the ``<job_id>`` attribute, else the trace id (32 lowercase hex digits);
    ``attribute:<name>``: that attribute's text, else the trace id; ``trace-id``; ``none``.
    """
    if config.key_strategy == "none":
        return _no_key
    if config.key_strategy == "trace-id":

        def trace_id_key(span: Span) -> bytes:
            return span.trace_id.hex().encode()

        return trace_id_key
    attribute = "<job_id>" if config.key_strategy == "job-id" else config.key_attribute
    assert attribute is not None

    def attribute_key(span: Span) -> bytes:
        value = span.attributes.get(attribute)
        if value is None:
            return span.trace_id.hex().encode()
        if value.__class__ is str:
            return value.encode()
        return _attribute_text(value).encode()

    return attribute_key


def _limit_check(limits: SpanLimits) -> Callable[[Span], bool]:
    def breaks_a_limit(span: Span) -> bool:
        return limits.violation(span) is not None

    return breaks_a_limit


def _headers(config: KafkaReporterConfig) -> list[tuple[str, bytes]]:
    """The headers of a span record."""
    return record_headers(config, SCHEMA_FINGERPRINT)
