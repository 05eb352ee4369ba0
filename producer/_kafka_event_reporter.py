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

from spanstream.producer._kafka_config import DEFAULT_EVENT_TOPIC, REPORTER_KEYS
from spanstream.producer._kafka_reporter_base import KafkaReporterBase, RecordFormat
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import EVENT_SCHEMA_FINGERPRINT, Event, encode_event

__all__ = ["KafkaEventReporter", "KafkaEventReporterFactory"]

_LOG: Final = logging.getLogger("spanstream.producer.kafka.events")


def _trace_or_event_id_key(event: Event) -> bytes:
    # An event of a trace goes with the trace; any other is spread by its own id.
    return (event.trace_id or event.event_id).hex().encode()


_EVENT_RECORDS: Final = RecordFormat(
    DEFAULT_EVENT_TOPIC, EVENT_SCHEMA_FINGERPRINT, encode_event, _trace_or_event_id_key
)
"""Event records: ``encode_event``, the event schema's fingerprint, keyed by the trace id (else
the event id), on ``flink-events`` by default."""


class KafkaEventReporter(KafkaReporterBase[Event]):
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

    __slots__ = {
        "notify_of_added_event": "Hand the event to the sender and return at once. Never "
        "blocks, never raises."
    }

    notify_of_added_event: Callable[[Event], None]

    def __init__(self) -> None:
        super().__init__(_EVENT_RECORDS, label="Kafka event reporter", noun="event", log=_LOG)
        # The sender's offer itself: the caller's path is one Python call.
        self.notify_of_added_event = self._sender.offer


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
