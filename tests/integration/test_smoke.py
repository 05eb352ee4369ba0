"""The smoke round trip: 10,000 records through a real broker, all back, in order."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message, Producer

COUNT = 10_000


def _produce(bootstrap: str, topic: str) -> dict[int, list[bytes]]:
    """Produce COUNT keyed records; return each partition's values in delivery order."""
    delivered: dict[int, list[bytes]] = defaultdict(list)
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        else:
            delivered[msg.partition()].append(msg.value())

    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5}
    )
    for i in range(COUNT):
        producer.produce(
            topic, key=f"k{i % 97}".encode(), value=f"v{i:05d}".encode(), on_delivery=on_delivery
        )
        producer.poll(0)
    assert producer.flush(60) == 0
    assert failures == []
    return dict(delivered)


def _consume(bootstrap: str, topic: str) -> dict[int, list[bytes]]:
    """Read the topic from the start until COUNT records arrived; return them per partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: dict[int, list[bytes]] = defaultdict(list)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 120
        total = 0
        while total < COUNT and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                assert msg.error() is None, msg.error()
                received[msg.partition()].append(msg.value())
                total += 1
    finally:
        consumer.close()
    return dict(received)


def test_ten_thousand_records_come_back_complete_and_in_partition_order(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    """Every record produced to a fresh 3-partition topic is consumed once, in partition order."""
    topic = new_topic(partitions=3)

    produced = _produce(kafka_bootstrap, topic)
    consumed = _consume(kafka_bootstrap, topic)

    all_values = {f"v{i:05d}".encode() for i in range(COUNT)}
    consumed_values = [value for values in consumed.values() for value in values]
    assert len(consumed_values) == COUNT
    assert set(consumed_values) == all_values
    assert len(produced) == 3  # the keys spread over every partition
    assert consumed == produced  # per partition: the same records in the same order
