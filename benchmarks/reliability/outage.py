"""The only broker down while spans keep coming: bounded memory, exact drops, then delivery.

A single-node broker of its own (own folder and ports). The Kafka reporter publishes at a steady
rate (5,000 spans/s) through ``MetricGroup.add_span``; the broker is killed (SIGKILL) after a
warm-up, stays down for the outage, and is started again. Recorded:

* the worst ``add_span`` latency (the caller never waits on the broker);
* the largest hand-off queue depth and librdkafka backlog seen (each bounded by
  ``queue.max.spans``), and the peak RSS growth against the configured bound;
* the spans dropped by the overflow policy (``queue-full``), which must be exactly the spans
  sent and never read back; and where they fall: ``drop-newest`` keeps the oldest spans (no
  span among the first ``queue.max.spans`` reported after the broker went down is dropped),
  ``drop-oldest`` keeps the newest (none of the last ``queue.max.spans`` before it came back);
* after recovery, everything still queued arrives, once.

Run it (a 30 s outage at 5,000 spans/s, each policy)::

    .venv/bin/python benchmarks/reliability/outage.py --outage-s 30 --rate 5000

``tests/integration/test_reliability_outage.py`` runs a 10 s outage.
"""

from __future__ import annotations

import argparse
import functools
import sys
import threading
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

from spanstream.broker import LocalKafka, default_state_dir
from spanstream.producer import KafkaTraceReporter

POLICIES = ("drop-newest", "drop-oldest")
SPAN_ALLOWANCE_BYTES = 4096
"""What one queued span may cost in RSS (the Span, its attribute mapping and strings)."""
FIXED_ALLOWANCE_BYTES = 96 * 2**20
"""RSS growth allowed beyond the queues (librdkafka's threads and buffers, the allocator)."""


def memory_bound_bytes(queue_max_spans: int, queue_max_bytes: int) -> int:
    """The RSS growth the configuration allows: both queues full, plus a fixed allowance."""
    return queue_max_spans * SPAN_ALLOWANCE_BYTES + queue_max_bytes + FIXED_ALLOWANCE_BYTES


class _Watcher(threading.Thread):
    """Samples the reporter's queue depth and librdkafka backlog every 20 ms."""

    def __init__(self, reporter: KafkaTraceReporter) -> None:
        super().__init__(name="queue-watcher", daemon=True)
        self._reporter = reporter
        self._halt = threading.Event()
        self.max_queued = 0
        self.max_in_flight = 0
        self.last_queued = 0

    def run(self) -> None:
        while not self._halt.wait(0.02):
            stats = self._reporter.snapshot()
            self.max_queued = max(self.max_queued, stats.queued)
            self.max_in_flight = max(self.max_in_flight, stats.in_flight)
            self.last_queued = stats.queued

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_outage(
    kafka: LocalKafka,
    *,
    policy: str,
    outage_s: float,
    rate_per_s: float = 5_000.0,
    queue_max_spans: int = 20_000,
    queue_max_bytes: int = 16 * 2**20,
    warmup_s: float = 2.0,
    after_s: float = 3.0,
) -> Figures:
    """Publish through an outage of ``outage_s`` of the (running) single broker; count."""
    topic = f"outage-{uuid.uuid4().hex[:8]}"
    moments: dict[str, int] = {}
    watchers: list[_Watcher] = []

    def fault(publisher: SteadyPublisher, reporter: KafkaTraceReporter) -> None:
        watcher = _Watcher(reporter)
        watchers.append(watcher)
        watcher.start()
        try:
            time.sleep(warmup_s)
            moments["sent_at_kill"] = publisher.sent
            kafka.kill_node(1)
            time.sleep(outage_s)
            moments["sent_before_restart"] = publisher.sent
            moments["queued_before_restart"] = watcher.last_queued
            start_node_retrying(kafka, 1)
            moments["sent_after_restart"] = publisher.sent
            time.sleep(after_s)
        finally:
            watcher.stop()

    run = publish_through(
        kafka.bootstrap_servers,
        topic,
        rate_per_s=rate_per_s,
        settings={
            "topic.partitions": "3",
            "topic.replication.factor": "1",
            "open.timeout.s": "60",
            "queue.max.spans": str(queue_max_spans),
            "queue.max.bytes": str(queue_max_bytes),
            "queue.overflow.policy": policy,
        },
        fault=fault,
    )
    (watcher,) = watchers
    missing = run.read.missing(run.publisher.sent)
    growth_bytes = run.rss_peak_bytes - run.rss_baseline_bytes
    bound_bytes = memory_bound_bytes(queue_max_spans, queue_max_bytes)
    return run.figures(
        f"outage {outage_s:g} s, {policy}",
        notes=(
            f"queue.max.spans {queue_max_spans}, {rate_per_s:g} spans/s; "
            f"max queued {watcher.max_queued}, max in librdkafka {watcher.max_in_flight}; "
            f"RSS growth {growth_bytes / 2**20:.0f} MiB of {bound_bytes / 2**20:.0f} MiB allowed"
        ),
        extra={
            "policy": policy,
            "queue_max_spans": queue_max_spans,
            "max_queued": watcher.max_queued,
            "max_in_flight": watcher.max_in_flight,
            "rss_growth_bytes": growth_bytes,
            "memory_bound_bytes": bound_bytes,
            **moments,
            "missing_min": min(missing) if missing else None,
            "missing_max": max(missing) if missing else None,
            "missing_count": len(missing),
        },
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start a private broker, run each policy through an outage, print figures, remove it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-s", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5_000.0)
    parser.add_argument("--queue-max-spans", type=int, default=50_000)
    parser.add_argument("--policy", choices=POLICIES, action="append")
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    kafka = private_kafka(args.state_dir, name=f"reliability-outage-{uuid.uuid4().hex[:6]}")
    return run_on_private_kafka(
        kafka,
        [
            functools.partial(
                run_outage,
                kafka,
                policy=policy,
                outage_s=args.outage_s,
                rate_per_s=args.rate,
                queue_max_spans=args.queue_max_spans,
            )
            for policy in args.policy or POLICIES
        ],
        start_timeout_s=180,
        json_out=args.json_out,
    )


if __name__ == "__main__":
    sys.exit(main())
