"""Kafka for the read commands: which address, whether it answers, and a topic's offset range."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from typing import Final

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from spanstream.broker import (
    BOOTSTRAP_ENV,
    COMPOSE_BOOTSTRAP_SERVERS,
    BrokerSource,
    LocalKafka,
    choose_broker_source,
    docker_answers,
)
from spanstream.cli._exit import BrokerUnreachableError, CliError
from spanstream.cli._timerange import TimeRange

__all__ = [
    "RDKAFKA_LOG",
    "BrokerAddress",
    "PartitionRange",
    "check_reachable",
    "default_broker_address",
    "ephemeral_group_id",
    "topic_range",
]

RDKAFKA_LOG: Final = logging.getLogger("spanstream.cli.rdkafka")
"""Where librdkafka's own log lines go: not the terminal (the commands report errors once)."""
RDKAFKA_LOG.addHandler(logging.NullHandler())
RDKAFKA_LOG.propagate = False

_HOW_TO_START: Final = (
    "start one with `spanstream broker start` (or `./run broker start`), or point at yours "
    f"with --bootstrap-servers / ${BOOTSTRAP_ENV}"
)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """A ``bootstrap.servers`` value and where it came from (for error messages)."""

    bootstrap_servers: str
    origin: str


def default_broker_address(given: str | None) -> BrokerAddress:
    """The address to read from.

    The option (or ``$KAFKA_BOOTSTRAP_SERVERS``), else the broker ``spanstream broker start``
    runs (Docker's compose service or the local one).

    Nothing is started: reading commands only look.
    """
    if given and given.strip():
        origin = (
            f"${BOOTSTRAP_ENV}"
            if os.environ.get(BOOTSTRAP_ENV, "").strip() == given.strip()
            else "--bootstrap-servers"
        )
        return BrokerAddress(given.strip(), origin)
    source = choose_broker_source(os.environ, docker_answers=docker_answers)
    if source is BrokerSource.DOCKER:
        return BrokerAddress(COMPOSE_BOOTSTRAP_SERVERS, "the Docker compose broker's address")
    return BrokerAddress(LocalKafka().bootstrap_servers, "the local broker's address")


def check_reachable(address: BrokerAddress, *, timeout_s: float = 5.0) -> frozenset[str]:
    """Ask the cluster for its metadata once; returns the names of its topics.

    Raises:
        BrokerUnreachableError: nothing answered within ``timeout_s``; the message names the
            address, where it came from, and how to start a broker.
    """
    admin = AdminClient(
        {"bootstrap.servers": address.bootstrap_servers, "socket.timeout.ms": 5000},
        logger=RDKAFKA_LOG,
    )
    try:
        return frozenset(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise BrokerUnreachableError(
            f"no Kafka broker answers at {address.bootstrap_servers} ({address.origin}) within "
            f"{timeout_s:g} s; {_HOW_TO_START}"
        ) from exc


def ephemeral_group_id(command: str) -> str:
    """A consumer group of one's own, so a read never moves another group's offsets."""
    return f"spanstream-cli-{command}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """The offsets of one partition inside a time range: ``[start, end)``."""

    partition: int
    start: int
    end: int

    @property
    def records(self) -> int:
        """How many records the range holds in this partition."""
        return max(0, self.end - self.start)


def topic_range(
    address: BrokerAddress, topic: str, time_range: TimeRange, *, timeout_s: float = 10.0
) -> tuple[PartitionRange, ...]:
    """Resolve a time range to offsets, per partition, as the topic is now.

    ``since`` maps to the first record at or after it, ``until`` to the first record at or
    after it (excluded); the range ends at the partition's current end otherwise.

    Raises:
        CliError: the topic does not exist.
        BrokerUnreachableError: the broker stopped answering.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": address.bootstrap_servers,
            "group.id": ephemeral_group_id("range"),
            "enable.auto.commit": False,
        },
        logger=RDKAFKA_LOG,
    )
    try:
        metadata = consumer.list_topics(topic=topic, timeout=timeout_s)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            raise CliError(
                f"topic {topic!r} does not exist on {address.bootstrap_servers} "
                f"(topics there: {_topic_list(consumer, timeout_s)})"
            )
        partitions = sorted(described.partitions)
        bounds = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            for p in partitions
        }
        starts = _offsets_at(consumer, topic, partitions, time_range.since_millis, bounds, low=True)
        ends = _offsets_at(consumer, topic, partitions, time_range.until_millis, bounds, low=False)
    except KafkaException as exc:
        raise BrokerUnreachableError(
            f"reading offsets of {topic!r} from {address.bootstrap_servers} failed: {exc}"
        ) from exc
    finally:
        consumer.close()
    return tuple(PartitionRange(p, starts[p], max(starts[p], ends[p])) for p in partitions)


def _topic_list(consumer: Consumer, timeout_s: float) -> str:
    try:
        names = sorted(t for t in consumer.list_topics(timeout=timeout_s).topics if t[:2] != "__")
    except KafkaException:
        return "unknown"
    if not names:
        return "none"
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def _offsets_at(
    consumer: Consumer,
    topic: str,
    partitions: list[int],
    when_millis: int | None,
    bounds: dict[int, tuple[int, int]],
    *,
    low: bool,
) -> dict[int, int]:
    if when_millis is None:
        return {p: bounds[p][0] if low else bounds[p][1] for p in partitions}
    found = consumer.offsets_for_times(
        [TopicPartition(topic, p, when_millis) for p in partitions], timeout=10.0
    )
    # No record at or after the time: the range starts (or ends) at the partition's end.
    return {tp.partition: tp.offset if tp.offset >= 0 else bounds[tp.partition][1] for tp in found}
