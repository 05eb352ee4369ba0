"""Failover on a 3-node KRaft cluster: no span lost or duplicated while brokers die and restart.

A topic with replication factor 3 and ``min.insync.replicas=2``; the Kafka reporter (acks=all,
idempotent producer: its defaults) publishes at a steady rate through ``MetricGroup.add_span``
while one of two things happens:

* ``kill-leader``: the leader of partition 0 is killed (SIGKILL) once a tenth of the spans are
  out, and started again once half are;
* ``rolling-restart``: all three brokers are restarted one after the other (each stopped
  cleanly, started, and the cluster fully replicated again before the next).

Then the reporter flushes and the topic is read back to its high watermarks: every span must be
there exactly once, and the reporter's counters must agree (notified = sent, delivered = read).

Run it (200,000 spans per scenario on a private cluster it starts and removes)::

    .venv/bin/python benchmarks/reliability/failover.py --spans 200000 --rate 2000

``tests/integration/test_reliability_failover.py`` runs both scenarios with fewer spans on the
test session's cluster.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from _chaos import (
    Figures,
    SteadyPublisher,
    private_kafka,
    publish_through,
    run_on_private_kafka,
    start_node_retrying,
)
from confluent_kafka.admin import AdminClient, NewTopic

from spanstream.broker import LocalKafka, default_state_dir
from spanstream.producer import KafkaTraceReporter

SCENARIOS = ("kill-leader", "rolling-restart")


def create_replicated_topic(kafka: LocalKafka, *, partitions: int = 3) -> str:
    """Create a topic with replication factor 3 and min.insync.replicas 2; return its name."""
    name = f"reliability-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    futures = admin.create_topics(
        [NewTopic(name, partitions, 3, config={"min.insync.replicas": "2"})],
        operation_timeout=60,
    )
    futures[name].result(timeout=60)
    kafka.leader_of(name, 0, timeout_s=60)
    return name


def _wait_for(publisher: SteadyPublisher, sent: int) -> None:
    while publisher.sent < sent and publisher.is_alive():
        time.sleep(0.05)


def run_scenario(
    kafka: LocalKafka,
    topic: str,
    *,
    scenario: str,
    min_spans: int,
    rate_per_s: float,
) -> Figures:
    """Publish at least ``min_spans`` while the scenario's failure happens; read back; count."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, not {scenario!r}")
    events: list[str] = []

    def fault(publisher: SteadyPublisher, _reporter: KafkaTraceReporter) -> None:
        _wait_for(publisher, min_spans // 10)
        if scenario == "kill-leader":
            leader = kafka.leader_of(topic, 0)
            kafka.kill_node(leader.node_id)
            events.append(f"killed node {leader.node_id} at span {publisher.sent}")
            successor = kafka.leader_of(topic, 0, other_than=leader.node_id, timeout_s=60)
            events.append(f"node {successor.node_id} leads at span {publisher.sent}")
            _wait_for(publisher, min_spans // 2)
            start_node_retrying(kafka, leader.node_id)
            events.append(f"node {leader.node_id} back at span {publisher.sent}")
        else:
            for node in kafka.nodes:
                kafka.stop_node(node.node_id)
                events.append(f"stopped node {node.node_id} at span {publisher.sent}")
                start_node_retrying(kafka, node.node_id)
                kafka.wait_until_fully_replicated(timeout_s=180)
                events.append(f"node {node.node_id} back in sync at span {publisher.sent}")
        _wait_for(publisher, min_spans)

    run = publish_through(
        kafka.bootstrap_servers,
        topic,
        rate_per_s=rate_per_s,
        settings={"topic.create": "false", "open.timeout.s": "60", "queue.max.spans": "200000"},
        fault=fault,
    )
    return run.figures(
        f"failover: {scenario}", notes="; ".join(events), extra={"rate_per_s": rate_per_s}
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start a private 3-node cluster, run the scenarios, print their figures, remove it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    kafka = private_kafka(
        args.state_dir, name=f"reliability-failover-{uuid.uuid4().hex[:6]}", nodes=3
    )

    def row(scenario: str) -> Figures:
        topic = create_replicated_topic(kafka)
        return run_scenario(
            kafka, topic, scenario=scenario, min_spans=args.spans, rate_per_s=args.rate
        )

    return run_on_private_kafka(
        kafka,
        [functools.partial(row, scenario) for scenario in args.scenario or SCENARIOS],
        start_timeout_s=240,
        json_out=args.json_out,
    )


if __name__ == "__main__":
    sys.exit(main())
