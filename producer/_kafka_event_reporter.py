"""The Kafka event reporter: Flink's events become Avro records on their own Kafka topic.

The event side of :mod:`spanstream.producer._kafka_reporter`, on the same
:class:`~spanstream.producer._kafka_sender.KafkaSender`: one queue discipline, the same
counters (:class:`~spanstream.producer.KafkaReporterStats`) and the same guarantees
(``notify_of_added_event`` never blocks and never raises; every event is delivered, failed,
dropped with a reason, or pending). Events are encoded with
:func:`spanstream.schemas.encode_event` and carry the event schema's fingerprint header.

Configure it under ``events.reporter.<name>.*`` with the trace reporter's keys; the topic
defaults to ``flink-events`` (Flink keeps events and spans apart; a consumer reads both).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

from spanstream.producer._config import MetricConfig
from spanstream.producer._delivery_stats import KafkaReporterStats
from spanstream.producer._kafka_config import (
    DEFAULT_EVENT_TOPIC,
    REPORTER_KEYS,
    KafkaReporterConfig,
)
from spanstream.producer._kafka_producer import record_headers
from spanstream.producer._kafka_sender import KafkaSender
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import EVENT_SCHEMA_FINGERPRINT, Event, encode_event

__all__ = ["KafkaEventReporter", "KafkaEventReporterFactory"]

_LOG: Final = logging.getLogger("spanstream.producer.kafka.events")


class KafkaEventReporter:
    """An event reporter (Flink's ``EventReporter``) that publishes events to a Kafka topic.

    The registry calls :meth:`open` with the ``events.reporter.<name>.*`` settings (the keys
    of the trace reporter; ``topic`` defaults to ``flink-events``). :meth:`snapshot`,
    :meth:`flush` and :meth:`close` behave as the trace reporter's.

    Example:
        >>> reporter = KafkaEventReporter()
        >>> reporter.open(MetricConfig(                                  # doctest: +SKIP
        ...     {"bootstrap.servers": "127.0.0.1:9092"}, prefix="events.reporter.kafka."
        ... ))
        >>> event = Event.builder("app.Job", "Rescaled").build()
        >>> reporter.notify_of_added_event(event)                       # doctest: +SKIP
        >>> reporter.close(5.0)                                          # doctest: +SKIP
        0
    """

    __slots__ = ("__weakref__", "_sender")

    def __init__(self) -> None:
        self._sender: KafkaSender[Event] = KafkaSender(
            label="Kafka event reporter", noun="event", log=_LOG
        )

    def notify_of_added_event(self, event: Event) -> None:
        """Hand the event to the sender and return at once. Never blocks, never raises."""
        self._sender.offer(event)

    def open(self, config: MetricConfig) -> None:
        """Validate the configuration, create the producer, check the topic, start the sender.

        Raises:
            ConfigError: a setting is invalid, or the broker refused the topic as configured.
            ReporterStateError: the reporter was opened before.
            BrokerError: the Kafka client failed in another way.
        """
        sender = self._sender
        with sender.opening():
            settings = KafkaReporterConfig.from_metric_config(
                config, default_topic=DEFAULT_EVENT_TOPIC
            )
            sender.open(
                settings,
                encode=encode_event,
                key_of=_key_function(settings),
                headers=record_headers(settings, EVENT_SCHEMA_FINGERPRINT),
            )

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every accepted event has an outcome or ``timeout_s`` passed."""
        return self._sender.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> int:
        """Stop accepting events, deliver the queue within ``timeout_s``; return the pending."""
        return self._sender.close(timeout_s)

    def snapshot(self) -> KafkaReporterStats:
        """Return the counters now (:class:`KafkaReporterStats`; its spans are events here)."""
        return self._sender.snapshot()

    def __repr__(self) -> str:
        config = self._sender.config
        state = self._sender.state.value
        if config is None:
            return f"KafkaEventReporter(state={state!r})"
        return (
            f"KafkaEventReporter(name={config.name!r}, topic={config.topic!r}, "
            f"bootstrap_servers={config.bootstrap_servers!r}, state={state!r})"
        )


class KafkaEventReporterFactory:
    """Creates :class:`KafkaEventReporter` instances (``spanstream.event_reporters``: ``kafka``).

    Name it in the configuration as ``events.reporter.<name>.factory.class: kafka``.
    """

    reporter_keys = ReporterKeys(*REPORTER_KEYS)
    """The same keys as the Kafka trace reporter's; the registry rejects any other."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> KafkaEventReporter:
        """Return a new, not yet opened, reporter; its settings come with ``open``."""
        del properties
        return KafkaEventReporter()


def _fallback_key(event: Event) -> bytes:
    # An event of a trace goes with the trace; any other is spread by its own id.
    return (event.trace_id or event.event_id).hex().encode()


def _no_key(event: Event) -> bytes | None:
    del event
    return None


def _key_function(config: KafkaReporterConfig) -> Callable[[Event], bytes | None]:
    """Return the function that gives an event's record key, for the configured strategy.

    ``job-id``: the ``<job_id>`` attribute; ``attribute:<name>``: that attribute's text;
    ``trace-id``: the trace id. Failing those, the trace id, else the event id (32 lowercase
    hex digits); ``none``: no key.
    """
    if config.key_strategy == "none":
        return _no_key
    if config.key_strategy == "trace-id":
        return _fallback_key
    attribute = "<job_id>" if config.key_strategy == "job-id" else config.key_attribute
    assert attribute is not None

    def attribute_key(event: Event) -> bytes:
        value = event.attributes.get(attribute)
        if value is None:
            return _fallback_key(event)
        if value is True or value is False:
            return b"true" if value else b"false"
        return str(value).encode()

    return attribute_key
