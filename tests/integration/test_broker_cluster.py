"""The 3-node KRaft cluster on loopback: it keeps every acknowledged record when a leader dies."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _helpers import produce_keyed, read_topic, values_by_partition

from spanstream.broker import LocalKafka

pytestmark = pytest.mark.cluster


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> dict[int, list[bytes]]:
    """Produce ``values`` keyed by their index with acks=all; each partition's values."""
    records = [(str(i).encode(), value) for i, value in enumerate(values)]
    return produce_keyed(bootstrap, topic, records, config={"acks": "all"})


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

    consumed = values_by_partition(read_topic(bootstrap, topic))
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
    assert values_by_partition(read_topic(kafka_cluster.bootstrap_servers, topic)) == produced
