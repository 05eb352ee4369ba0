"""The Kafka reporters' librdkafka producer: its settings, and the callbacks that count outcomes.

librdkafka reports failed deliveries only (``delivery.report.only.error``): a Python call per
acknowledged record would cost the sender as much as encoding it. :class:`DeliveryReports`
counts those failures (and the connection errors) into the sender's counters; it runs on the
sender thread, inside ``poll``, the single writer of those counters.
"""

from __future__ import annotations

import logging
import math
from importlib import metadata
from typing import Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from spanstream.kafka import LibrdkafkaLog, RateLimiter, safe_cause
from spanstream.producer._kafka_config import DEFAULT_COMPRESSION, KafkaReporterConfig
from spanstream.producer._kafka_errors import config_error
from spanstream.producer._sender_counters import SenderCounters
from spanstream.schemas import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
)

__all__ = ["DeliveryReports", "new_producer", "record_headers"]

_PURGED: Final = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})


class DeliveryReports:
    """librdkafka's delivery-failure and client-error callbacks, counted and logged (limited)."""

    __slots__ = ("_counters", "_label", "_limiter", "_log", "_name", "_noun")

    def __init__(  # noqa: PLR0917 - who counts, who logs, and what the lines call things
        self,
        counters: SenderCounters,
        limiter: RateLimiter,
        log: logging.Logger,
        label: str,
        noun: str,
        name: str,
    ) -> None:
        self._counters = counters
        self._limiter = limiter
        self._log = log
        self._label = label
        self._noun = noun
        self._name = name

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        """Count one failed delivery (purged at close: dropped ``closed``)."""
        if err is None:
            return
        counters = self._counters
        counters.reported += 1
        try:
            counters.reported_bytes += len(msg)
            if err.code() in _PURGED:
                counters.dropped["closed"] += 1
                return
            name = err.name()
            counters.failed[name] += 1
            suppressed = self._limiter.allow("failed:" + name)
            if suppressed is not None:
                self._log.warning(
                    "%s %r: a %s failed delivery to %r: %s (%d more such failures not logged)",
                    self._label,
                    self._name,
                    self._noun,
                    msg.topic(),
                    err.str(),
                    suppressed,
                )
        except Exception:  # noqa: BLE001 - an exception here would surface from poll()
            counters.failed["_UNKNOWN"] += 1

    def on_client_error(self, err: KafkaError) -> None:
        """Count one connection-level error by name; log it (fatal ones always)."""
        try:
            name = err.name()
            self._counters.client_errors[name] += 1
            suppressed = self._limiter.allow("client:" + name)
            if suppressed is not None or err.fatal():
                level = logging.ERROR if err.fatal() else logging.WARNING
                self._log.log(
                    level,
                    "%s %r: %s (%d more not logged)",
                    self._label,
                    self._name,
                    err.str(),
                    suppressed or 0,
                )
        except Exception:  # noqa: BLE001, S110 - an exception here would surface from poll()
            pass


def new_producer(
    config: KafkaReporterConfig,
    reports: DeliveryReports,
    log: logging.Logger,
    *,
    batch_max_bytes: int | None,
) -> tuple[Producer, dict[str, object]]:
    """Create the producer with the reporter's defaults under the user's ``producer.*`` keys.

    Returns:
        The producer, and its librdkafka properties (without the callbacks).

    Raises:
        ConfigError: librdkafka refused a property (named by its full key, never a secret).
    """
    conf: dict[str, object] = {
        "bootstrap.servers": config.bootstrap_servers,
        "client.id": f"spanstream-{config.name}",
        "acks": "all",
        "enable.idempotence": "true",
        "compression.type": DEFAULT_COMPRESSION,
        "linger.ms": "5",
        "allow.auto.create.topics": "false",
        "queue.buffering.max.messages": str(config.queue_max_spans),
        "queue.buffering.max.kbytes": str(max(1, math.ceil(config.queue_max_bytes / 1024))),
    }
    if config.record_max_bytes > 1_000_000:
        conf["message.max.bytes"] = str(config.record_max_bytes + 65_536)
    conf.update(config.producer)
    if batch_max_bytes is not None:
        current = int(str(conf.get("batch.size", 1_000_000)))
        conf["batch.size"] = str(min(current, batch_max_bytes))
    conf["delivery.report.only.error"] = True  # see the module docstring
    properties = dict(conf)
    conf["on_delivery"] = reports.on_delivery
    conf["error_cb"] = reports.on_client_error
    conf["logger"] = LibrdkafkaLog(logging.getLogger(log.name + ".librdkafka"), config=properties)
    try:
        return Producer(conf), properties
    except (KafkaException, ValueError, TypeError) as exc:
        raise config_error(config, properties, exc) from safe_cause(exc, properties)


def _library_version() -> str:
    try:
        return metadata.version("spanstream")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def record_headers(config: KafkaReporterConfig, fingerprint: bytes) -> list[tuple[str, bytes]]:
    """The headers of every record: those ``headers`` names, then ``headers.additional``.

    ``fingerprint`` is the value's schema fingerprint (the span's or the event's), so the
    fingerprint header tells a span record from an event record.
    """
    values = {
        "content-type": (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        "schema-fingerprint": (HEADER_SCHEMA_FINGERPRINT, fingerprint.hex().encode()),
        "producer": (HEADER_PRODUCER, f"spanstream/{_library_version()}".encode()),
    }
    headers = [values[name] for name in config.headers]
    headers.extend((name, value.encode()) for name, value in config.additional_headers)
    return headers
