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
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from _chaos import (
    Figures,
    RssSampler,
    SteadyPublisher,
    private_kafka,
    read_back,
    reporter_registry,
    start_node_retrying,
)
from confluent_kafka.admin import AdminClient, NewTopic

from spanstream.broker import LocalKafka, default_state_dir

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
    registry, reporter = reporter_registry(
        kafka.bootstrap_servers,
        topic,
        **{"topic.create": "false", "open.timeout.s": "60", "queue.max.spans": "200000"},
    )
    sampler = RssSampler()
    sampler.start()
    publisher = SteadyPublisher(registry.root_group(), rate_per_s=rate_per_s)
    started = time.monotonic()
    publisher.start()
    events: list[str] = []
    try:
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
    finally:
        publisher.finish()
    pending = reporter.flush(300)
    stats = reporter.snapshot()
    registry.close()
    peak = sampler.stop()
    if publisher.error is not None:
        raise publisher.error
    read = read_back(kafka.bootstrap_servers, topic, run_id=publisher.run_id)
    sent = publisher.sent
    return Figures(
        scenario=f"failover: {scenario}",
        sent=sent,
        delivered=stats.delivered,
        read_back=read.distinct,
        lost=sent - read.distinct - stats.dropped_total,
        duplicated=read.duplicated,
        dropped=dict(stats.dropped),
        failed=dict(stats.failed),
        worst_add_span_ms=publisher.worst_add_span_ns / 1e6,
        peak_rss_mb=peak / 2**20,
        notes="; ".join(events),
        extra={
            "notified": stats.notified,
            "pending_after_flush": pending,
            "client_errors": dict(stats.client_errors),
            "records_on_topic": read.records,
            "bad_records": read.bad_records,
            "rate_per_s": rate_per_s,
            "elapsed_s": round(time.monotonic() - started, 1),
            "add_span_calls_over_1ms": publisher.slow_calls,
            "add_span_p50_us": publisher.percentile_us(0.5),
            "add_span_p99_us": publisher.percentile_us(0.99),
            "add_span_p999_us": publisher.percentile_us(0.999),
        },
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
    rows: list[Figures] = []
    try:
        kafka.start(timeout_s=240)
        for scenario in args.scenario or SCENARIOS:
            topic = create_replicated_topic(kafka)
            figures = run_scenario(
                kafka, topic, scenario=scenario, min_spans=args.spans, rate_per_s=args.rate
            )
            print(figures.to_json(), flush=True)
            rows.append(figures)
    finally:
        kafka.stop()
        kafka.remove_data()
    if args.json_out:
        args.json_out.write_text("[" + ",\n".join(row.to_json() for row in rows) + "]\n")
    return 0 if all(row.lost == 0 and row.duplicated == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
