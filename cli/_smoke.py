"""The smoke round trip: records produced to a fresh topic on a real broker and read back."""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # typed here; confluent_kafka.admin does not export it

from spanstream.schemas import BrokerError

__all__ = ["RoundTripResult", "smoke_round_trip"]

# librdkafka's transient notices ("coordinator load in progress") are not the demo's output.
_rdkafka_log = logging.getLogger("spanstream.cli.rdkafka")
_rdkafka_log.addHandler(logging.NullHandler())
_rdkafka_log.propagate = False


@dataclass(frozen=True, slots=True)
class RoundTripResult:
    """What came back from a smoke round trip.

    Attributes:
        topic: the (deleted afterwards) topic used.
        produced: records acknowledged by the broker.
        consumed: records read back.
        per_partition: partition -> records read back from it.
        exact_set: the records read back are exactly the ones produced, each once.
        partition_order: every partition returned its records in the order they were written.
        produce_s: seconds from the first send to the last acknowledgement.
        consume_s: seconds to read everything back.
    """

    topic: str
    produced: int
    consumed: int
    per_partition: tuple[tuple[int, int], ...]
    exact_set: bool
    partition_order: bool
    produce_s: float
    consume_s: float

    @property
    def ok(self) -> bool:
        """Everything came back, once, in partition order."""
        return self.exact_set and self.partition_order and self.consumed == self.produced


def smoke_round_trip(
    bootstrap_servers: str, *, count: int = 10_000, partitions: int = 3, timeout_s: float = 120.0
) -> RoundTripResult:
    """Produce ``count`` keyed records to a fresh topic, consume them back, compare, clean up."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers}, logger=_rdkafka_log)
    topic = f"spanstream-smoke-{uuid.uuid4().hex[:8]}"
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(timeout=timeout_s)
    except Exception as exc:
        raise BrokerError(f"cannot create topic {topic} on {bootstrap_servers}: {exc}") from exc
    try:
        started = time.monotonic()
        written = _produce(bootstrap_servers, topic, count=count, timeout_s=timeout_s)
        produce_s = time.monotonic() - started
        started = time.monotonic()
        read = _consume(bootstrap_servers, topic, count=count, timeout_s=timeout_s)
        consume_s = time.monotonic() - started
    finally:
        admin.delete_topics([topic])
    produced = [v for values in written.values() for v in values]
    consumed = [v for values in read.values() for v in values]
    return RoundTripResult(
        topic=topic,
        produced=len(produced),
        consumed=len(consumed),
        per_partition=tuple(sorted((p, len(values)) for p, values in read.items())),
        exact_set=len(consumed) == len(set(consumed)) and set(consumed) == set(produced),
        partition_order=read == written,
        produce_s=produce_s,
        consume_s=consume_s,
    )


def _produce(
    bootstrap_servers: str, topic: str, *, count: int, timeout_s: float
) -> dict[int, list[bytes]]:
    written: dict[int, list[bytes]] = defaultdict(list)
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(err)
            return
        value = msg.value()
        if value is not None:
            written[msg.partition() or 0].append(value)

    producer = Producer(
        {"bootstrap.servers": bootstrap_servers, "enable.idempotence": True, "linger.ms": 5},
        logger=_rdkafka_log,
    )
    for i in range(count):
        producer.produce(
            topic,
            key=f"k{i % 97}".encode(),
            value=f"record-{i:06d}".encode(),
            on_delivery=on_delivery,
        )
        producer.poll(0)
    if producer.flush(timeout_s) > 0 or errors:
        raise BrokerError(f"producing to {topic} failed: {errors[:3] or 'flush timed out'}")
    return dict(written)


def _consume(
    bootstrap_servers: str, topic: str, *, count: int, timeout_s: float
) -> dict[int, list[bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"{topic}-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        },
        logger=_rdkafka_log,
    )
    read: dict[int, list[bytes]] = defaultdict(list)
    total = 0
    deadline = time.monotonic() + timeout_s
    try:
        consumer.subscribe([topic])
        while total < count and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                error = msg.error()
                if error is not None:
                    raise BrokerError(f"consuming {topic} failed: {error}")
                value = msg.value()
                if value is not None:
                    read[msg.partition() or 0].append(value)
                    total += 1
    finally:
        consumer.close()
    return dict(read)
