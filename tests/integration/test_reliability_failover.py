"""Failover on the 3-node cluster: the reporter loses and duplicates nothing while brokers die.

Both scenarios of ``benchmarks/reliability/failover.py`` (which runs 200,000 spans each), with
fewer spans, on the test session's cluster: the leader of a partition killed (SIGKILL) and
started again, and a rolling restart of all three brokers. Replication factor 3,
``min.insync.replicas=2``, the reporter's defaults (acks=all, idempotence).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def failover(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("failover")


def _assert_nothing_lost_or_duplicated(figures) -> None:
    assert figures.extra["pending_after_flush"] == 0
    assert figures.failed == {}
    assert figures.dropped == {}
    assert figures.extra["notified"] == figures.sent
    assert figures.delivered == figures.sent
    assert figures.read_back == figures.sent
    assert figures.lost == 0
    assert figures.duplicated == 0
    assert figures.extra["bad_records"] == 0


def test_killing_a_partition_leader_and_restarting_it_loses_and_duplicates_nothing(
    failover, kafka_cluster, new_cluster_topic
):
    """30,000 spans at 2,500/s; the leader of partition 0 is SIGKILLed, then started again."""
    topic = new_cluster_topic(partitions=3, replication=3, config={"min.insync.replicas": "2"})
    figures = failover.run_scenario(
        kafka_cluster, topic, scenario="kill-leader", min_spans=30_000, rate_per_s=2_500
    )
    print(figures.to_json())
    _assert_nothing_lost_or_duplicated(figures)


def test_restarting_all_three_brokers_one_after_the_other_loses_and_duplicates_nothing(
    failover, kafka_cluster, new_cluster_topic
):
    """At least 20,000 spans at 500/s for as long as the rolling restart takes."""
    topic = new_cluster_topic(partitions=3, replication=3, config={"min.insync.replicas": "2"})
    figures = failover.run_scenario(
        kafka_cluster, topic, scenario="rolling-restart", min_spans=20_000, rate_per_s=500
    )
    print(figures.to_json())
    _assert_nothing_lost_or_duplicated(figures)
