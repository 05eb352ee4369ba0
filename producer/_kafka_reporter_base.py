"""What the Kafka trace and event reporters share: one sender, its lifecycle, the record keys.

Each reporter is a :class:`KafkaReporterBase` over one
:class:`~spanstream.producer._kafka_sender.KafkaSender` and says, in a :class:`RecordFormat`,
how its items become records: the encoder, the schema fingerprint of the header, the default
topic, and the id a record is keyed by when the ``key`` strategy finds no attribute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from spanstream.producer._config import MetricConfig
from spanstream.producer._delivery_stats import KafkaReporterStats
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_producer import record_headers
from spanstream.producer._kafka_sender import KafkaSender

__all__ = ["KafkaReporterBase", "RecordFormat", "key_function"]


class _Keyed(Protocol):
    """A span or an event: what a record key is taken from."""

    @property
    def attributes(self) -> Mapping[str, object]:
        """The item's attributes."""


_T = TypeVar("_T")
_K = TypeVar("_K", bound=_Keyed)


def _no_key(item: object) -> None:
    del item


def key_function(
    config: KafkaReporterConfig, fallback: Callable[[_K], bytes]
) -> Callable[[_K], bytes | None]:
    """Return the function that gives an item's record key, for the configured strategy.

    ``job-id``: the ``<job_id>`` attribute; ``attribute:<name>``: that attribute's text
    (``true``/``false`` for booleans); ``trace-id``: ``fallback`` (the trace id, or for an event
    outside a trace its event id, as 32 lowercase hex digits); failing the attribute, ``fallback``
    too; ``none``: no key.
    """
    if config.key_strategy == "none":
        return _no_key
    if config.key_strategy == "trace-id":
        return fallback
    attribute = "<job_id>" if config.key_strategy == "job-id" else config.key_attribute
    assert attribute is not None

    def attribute_key(item: _K) -> bytes:
        value = item.attributes.get(attribute)
        if value is None:
            return fallback(item)
        if type(value) is str:
            return value.encode()
        if value is True or value is False:
            return b"true" if value else b"false"
        return str(value).encode()

    return attribute_key


@dataclass(frozen=True, slots=True)
class RecordFormat(Generic[_K]):
    """How a reporter's items become Kafka records.

    Attributes:
        default_topic: the topic when ``topic`` is not set.
        fingerprint: the schema fingerprint the records' header names.
        encode: an item's record value (its Avro bytes).
        fallback_key: the key when the ``key`` strategy finds no attribute (see
            :func:`key_function`).
    """

    default_topic: str
    fingerprint: bytes
    encode: Callable[[_K], bytes]
    fallback_key: Callable[[_K], bytes]

    def key_function(self, config: KafkaReporterConfig) -> Callable[[_K], bytes | None]:
        """The record key function of the configured ``key`` strategy."""
        return key_function(config, self.fallback_key)

    def headers(self, config: KafkaReporterConfig) -> list[tuple[str, bytes]]:
        """The headers of every record."""
        return record_headers(config, self.fingerprint)


class KafkaReporterBase(Generic[_K]):
    """A reporter over one :class:`~spanstream.producer._kafka_sender.KafkaSender`.

    A subclass gives its :class:`RecordFormat` and names, and binds Flink's
    ``notify_of_added_*`` to the sender's ``offer`` (one Python call on the caller's path).
    """

    __slots__ = ("__weakref__", "_format", "_sender")

    def __init__(
        self, records: RecordFormat[_K], *, label: str, noun: str, log: logging.Logger
    ) -> None:
        self._format = records
        self._sender: KafkaSender[_K] = KafkaSender(label=label, noun=noun, log=log)

    def open(self, config: MetricConfig) -> None:
        """Validate the configuration, create the producer, check the topic, start the sender.

        The topic is checked (and created when missing, with ``topic.create``) for at most
        ``open.timeout.s``; when the broker cannot be reached in that time, ``open`` returns
        anyway and the sender keeps trying, holding items in the bounded queue meanwhile.

        Raises:
            ConfigError: a setting is invalid (a librdkafka property included), or the broker
                answered that the topic is missing while ``topic.create`` is off, or refused to
                create it as configured.
            ReporterStateError: the reporter was opened before.
            BrokerError: the Kafka client failed in another way.
        """
        sender = self._sender
        records = self._format
        with sender.opening():
            too_large = self._too_large(config)
            settings = KafkaReporterConfig.from_metric_config(
                config, default_topic=records.default_topic
            )
            sender.open(
                settings,
                encode=records.encode,
                key_of=records.key_function(settings),
                headers=records.headers(settings),
                too_large=too_large,
            )

    def _too_large(self, config: MetricConfig) -> Callable[[_K], bool] | None:
        """The check that drops an item ``too-large`` before encoding (none by default)."""
        del config
        return None

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every accepted item has an outcome, or until ``timeout_s`` has passed.

        Args:
            timeout_s: the deadline in seconds (default: ``flush.timeout.s``).

        Returns:
            How many items were still pending (0 when everything was delivered or dropped).
        """
        return self._sender.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> int:
        """Stop accepting items, deliver what is queued within ``timeout_s``, then stop.

        Items notified after ``close`` started are counted as dropped ``closed``; items still
        pending at the deadline are dropped ``closed`` too (records already in librdkafka are
        purged). A second ``close`` does nothing and returns the first one's answer.

        Args:
            timeout_s: the deadline in seconds (default: ``close.timeout.s``).

        Returns:
            How many items were still pending at the deadline (and so were dropped).
        """
        return self._sender.close(timeout_s)

    def snapshot(self) -> KafkaReporterStats:
        """Return the counters now (see :class:`KafkaReporterStats` for their invariant)."""
        return self._sender.snapshot()

    def __repr__(self) -> str:
        sender = self._sender
        config = sender.config
        state = sender.state.value
        kind = type(self).__name__
        if config is None:
            return f"{kind}(state={state!r})"
        return (
            f"{kind}(name={config.name!r}, topic={config.topic!r}, "
            f"bootstrap_servers={config.bootstrap_servers!r}, state={state!r})"
        )
