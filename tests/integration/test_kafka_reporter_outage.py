"""The Kafka trace reporter across a broker outage, on a broker of its own (separate port, state).

Spans reported while the broker is down wait in the bounded queue (what does not fit is dropped
and counted ``queue-full``); once the broker is up, what was queued is delivered, once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from _helpers import read_topic

from spanstream.broker import LocalKafka
from spanstream.broker._process import port_is_free
from spanstream.broker._properties import PORTS_PER_NODE
from spanstream.producer import (
    InMemoryTraceReporter,
    KafkaTraceReporter,
    MetricConfig,
    ReporterRegistry,
)
from spanstream.schemas import BrokerError, Span, decode_span

QUEUE_MAX_SPANS = 3_000


def _free_base_port() -> int:
    # Below Linux's ephemeral range (32768-60999): while the broker is down the reporter keeps
    # reconnecting, and a connect to a port in that range can bind the port itself as its source
    # (a TCP self-connect), which then holds it when the broker starts ("used by another program").
    candidates = list(range(20_000, 32_000, 1_000))
    random.shuffle(candidates)
    for base in candidates:
        if all(port_is_free("127.0.0.1", base + offset) for offset in range(PORTS_PER_NODE)):
            return base
    raise RuntimeError("no free block of ports for a private broker")


def _start(kafka: LocalKafka) -> None:
    """Start the private broker; one more try if its JVM gave up while starting.

    On a loaded 2-core machine a restart right after a stop has been seen to exit during
    startup once; the reporter is what is under test here, not the broker's restart.
    """
    try:
        kafka.start(timeout_s=180)
    except BrokerError:
        kafka.stop()
        kafka.start(timeout_s=180)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A single-node broker private to this test, not started yet; stopped and removed after."""
    kafka = LocalKafka(tmp_path / "state", nodes=1, base_port=_free_base_port(), name="outage")
    try:
        yield kafka
    finally:
        kafka.stop()
        kafka.remove_data()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_spans_queued_while_the_broker_is_down_arrive_once_it_is_up(own_broker: LocalKafka):
    """Down at first: the queue keeps the first spans, drops and counts the rest; up: delivered.

    Then down again after it was up: spans reported meanwhile are delivered after the restart,
    and nothing arrives twice. Then down for good: close() drops and counts what is pending.
    """
    topic = "outage-traces"
    prefix = "traces.reporter.kafka."
    registry = ReporterRegistry.from_config(
        {
            prefix + "factory.class": "kafka",
            prefix + "bootstrap.servers": own_broker.bootstrap_servers,
            prefix + "topic": topic,
            prefix + "topic.partitions": 2,
            prefix + "topic.replication.factor": 1,
            prefix + "queue.max.spans": QUEUE_MAX_SPANS,
            prefix + "open.timeout.s": 0,
            "traces.reporter.mem.factory.class": "in_memory",
        }
    )
    try:
        kafka = registry.reporter("kafka")
        memory = registry.reporter("mem")
        assert isinstance(kafka, KafkaTraceReporter)
        assert isinstance(memory, InMemoryTraceReporter)
        group = registry.root_group(variables={"job_id": "outage"})

        # 1. The broker has never run: the hand-off queue holds what it may, and no more.
        for i in range(5_000):
            group.add_span(Span.builder("app.Job", "Down").set_attribute("i", i))
        stats = kafka.snapshot()
        assert stats.accepted == stats.queued == QUEUE_MAX_SPANS
        assert stats.dropped == {"queue-full": 5_000 - QUEUE_MAX_SPANS}
        assert stats.delivered == 0
        assert kafka.flush(0.5) == QUEUE_MAX_SPANS

        # 2. The broker comes up: the queued spans (the first ones: drop-newest) arrive.
        _start(own_broker)
        assert kafka.flush(180) == 0
        stats = kafka.snapshot()
        assert stats.delivered == QUEUE_MAX_SPANS
        assert stats.failed == {}
        sent = list(memory.spans[:QUEUE_MAX_SPANS])
        received = [decode_span(m.value()) for m in read_topic(own_broker.bootstrap_servers, topic)]
        assert received == sent  # one key, one partition: in order, each once

        # 3. Down again after it was up: spans reported meanwhile wait, then arrive.
        own_broker.stop()
        for i in range(1_000):
            group.add_span(Span.builder("app.Job", "Again").set_attribute("i", i))
        assert kafka.flush(0.5) == 1_000
        _start(own_broker)
        assert kafka.flush(180) == 0
        stats = kafka.snapshot()
        assert stats.delivered == QUEUE_MAX_SPANS + 1_000
        assert stats.failed == {}
        assert stats.dropped == {"queue-full": 5_000 - QUEUE_MAX_SPANS}
        assert stats.pending == 0
        expected = list(memory.spans[:QUEUE_MAX_SPANS] + memory.spans[5_000:])
        received = [decode_span(m.value()) for m in read_topic(own_broker.bootstrap_servers, topic)]
        assert received == expected
        assert stats.accepted == (
            stats.delivered + stats.failed_total + stats.dropped_after_accept + stats.pending
        )

        # 4. Down for good: close() returns by its deadline with what was still pending (in
        # librdkafka by now), and those spans are counted dropped "closed".
        own_broker.stop()
        for i in range(500):
            group.add_span(Span.builder("app.Job", "Lost").set_attribute("i", i))
        assert kafka.flush(0.5) == 500
        assert kafka.close(3.0) == 500
        assert kafka.flush(30) == 0  # the sender's last accounting, should it lag on a busy box
        stats = kafka.snapshot()
        assert stats.dropped == {"queue-full": 5_000 - QUEUE_MAX_SPANS, "closed": 500}
        assert stats.delivered == QUEUE_MAX_SPANS + 1_000
        assert (stats.pending, stats.in_flight) == (0, 0)
    finally:
        registry.close()


@pytest.mark.timeout(120)
def test_close_while_the_broker_is_down_returns_and_counts_the_lost(own_broker: LocalKafka):
    """close() with the broker unreachable returns by its deadline; the queued spans are dropped."""
    reporter = KafkaTraceReporter()
    reporter.open(
        MetricConfig(
            {"bootstrap.servers": own_broker.bootstrap_servers, "open.timeout.s": 0.5},
            prefix="traces.reporter.kafka.",
        )
    )
    for i in range(100):
        reporter.notify_of_added_span(Span.builder("app.Job", "Lost").set_attribute("i", i).build())
    assert reporter.close(1.0) == 100
    stats = reporter.snapshot()
    assert stats.dropped == {"closed": 100}
    assert stats.pending == 0
