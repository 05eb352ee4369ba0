"""The 3-node KRaft cluster on loopback: it keeps every acknowledged record when a leader dies."""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from spanstream.broker import LocalKafka

pytestmark = pytest.mark.cluster


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> dict[int, list[bytes]]:
    delivered: dict[int, list[bytes]] = defaultdict(list)
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        else:
            delivered[msg.partition()].append(msg.value())

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for i, value in enumerate(values):
        producer.produce(topic, key=str(i).encode(), value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(120) == 0
    assert failures == []
    return dict(delivered)


def _consume_all(bootstrap: str, topic: str, count: int) -> dict[int, list[bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"cluster-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: dict[int, list[bytes]] = defaultdict(list)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 120
        total = 0
        while total < count and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=1.0):
                assert msg.error() is None, msg.error()
                received[msg.partition()].append(msg.value())
                total += 1
    finally:
        consumer.close()
    return dict(received)


def test_cluster_has_three_brokers_and_one_cluster_id(kafka_cluster: LocalKafka) -> None:
    """All three nodes run, answer as brokers 1-3, and share one formatted cluster id."""
    status = kafka_cluster.status()
    assert status.running
    assert status.brokers_in_metadata == (1, 2, 3)
    ids = {
        line.split("=", 1)[1]
        for node in kafka_cluster.nodes
        for line in (node.data_dir / "meta.properties").read_text().splitlines()
        if line.startswith("cluster.id=")
    }
    assert len(ids) == 1


def test_acknowledged_records_survive_killing_the_partition_leader(
    kafka_cluster: LocalKafka, new_cluster_topic: Callable[..., str]
) -> None:
    """acks=all records on an RF=3 topic all come back after its leader is killed and restarted."""
    topic = new_cluster_topic(partitions=3, replication=3, config={"min.insync.replicas": "2"})
    bootstrap = kafka_cluster.bootstrap_servers
    before = [f"before-{i:04d}".encode() for i in range(1000)]
    after = [f"after-{i:04d}".encode() for i in range(1000)]

    produced = _produce(bootstrap, topic, before)
    leader = kafka_cluster.leader_of(topic, 0)
    kafka_cluster.kill_node(leader.node_id)
    assert kafka_cluster.node_pid(leader.node_id) is None
    kafka_cluster.leader_of(topic, 0, other_than=leader.node_id)  # the controller moved it

    for partition, values in _produce(bootstrap, topic, after).items():
        produced.setdefault(partition, []).extend(values)
    kafka_cluster.start_node(leader.node_id)
    kafka_cluster.wait_until_fully_replicated(timeout_s=60)

    consumed = _consume_all(bootstrap, topic, len(before) + len(after))
    assert sorted(v for values in consumed.values() for v in values) == sorted(before + after)
    assert consumed == produced


def test_rolling_restart_keeps_every_record_and_every_node(
    kafka_cluster: LocalKafka, new_cluster_topic: Callable[..., str]
) -> None:
    """Restarting the nodes one after another loses nothing and ends with all three running."""
    topic = new_cluster_topic(partitions=3, replication=3, config={"min.insync.replicas": "2"})
    values = [f"r-{i:04d}".encode() for i in range(500)]
    produced = _produce(kafka_cluster.bootstrap_servers, topic, values)

    kafka_cluster.restart_all()

    assert kafka_cluster.status().brokers_in_metadata == (1, 2, 3)
    assert _consume_all(kafka_cluster.bootstrap_servers, topic, len(values)) == produced
