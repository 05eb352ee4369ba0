"""An unreachable broker is not "caught up" (issue #12, item 4), on a broker of its own.

The consumer reads a topic to its end (``caught_up()`` turns True); the broker is stopped in the
middle of the next read: ``caught_up()`` stays False, reading raises ``BrokerError`` once no
broker has answered for ``broker_timeout_s``, and librdkafka's reconnection failures reach the
log once, not many times a second. A commit with the broker stopped raises ``BrokerError``
within ``broker_timeout_s`` (issue #13).
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from spanstream.broker import LocalKafka
from spanstream.broker._process import port_is_free
from spanstream.broker._properties import PORTS_PER_NODE
from spanstream.consumer import CommitError, SpanConsumer
from spanstream.schemas import BrokerError, Span, encode_span

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

BROKER_TIMEOUT_S = 10.0


def _free_base_port() -> int:
    # Below Linux's ephemeral range, as in test_kafka_reporter_outage.py (a reconnecting client
    # could otherwise self-connect to a port of the stopped broker), and on ports of our own.
    candidates = list(range(20_500, 32_000, 1_000))
    random.shuffle(candidates)
    for base in candidates:
        if all(port_is_free("127.0.0.1", base + offset) for offset in range(PORTS_PER_NODE)):
            return base
    raise RuntimeError("no free block of ports for a private broker")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalKafka]:
    """A single-node broker private to this test, started; stopped and removed after."""
    kafka = LocalKafka(
        tmp_path / "state", nodes=1, base_port=_free_base_port(), name="consumer-outage"
    )
    try:
        kafka.start(timeout_s=180)
        yield kafka
    finally:
        kafka.stop()
        kafka.remove_data()


def _write(bootstrap: str, topic: str, count: int, start: int) -> None:
    # One record per batch, so that a fetch (max.partition.fetch.bytes below) takes a few only.
    producer = Producer({"bootstrap.servers": bootstrap, "batch.num.messages": 1, "linger.ms": 0})
    for i in range(start, start + count):
        producer.produce(topic, encode_span(Span.builder("app.Job", f"s-{i}").build()))
    assert producer.flush(60) == 0


def test_a_stopped_broker_is_never_caught_up_and_raises_broker_error(own_broker, caplog):
    """Caught up with the broker; stopped mid-read: not caught up, BrokerError, one FAIL line."""
    caplog.set_level(logging.INFO, logger="spanstream.consumer")
    bootstrap = own_broker.bootstrap_servers
    topic = "outage-spans"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(60)
    _write(bootstrap, topic, 300, 0)

    consumer = SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        start="earliest",
        broker_timeout_s=BROKER_TIMEOUT_S,
        config={
            "reconnect.backoff.ms": 10,
            "reconnect.backoff.max.ms": 50,
            # Fetch little ahead, so that most of the second write is still on the broker when
            # it stops (and the consumer cannot have read it: it is not caught up).
            "queued.min.messages": 1,
            "max.partition.fetch.bytes": 1024,
            "fetch.max.bytes": 2048,
            "message.max.bytes": 1000,  # librdkafka wants fetch.max.bytes at least this
        },
    )
    try:
        names: list[str] = []
        while not consumer.caught_up():
            batch = consumer.poll_batch(max_spans=100, timeout_s=2)
            names.extend(record.span.name for record in batch)
            batch.ack()
        assert sorted(names) == sorted(f"s-{i}" for i in range(300))

        _write(bootstrap, topic, 300, 300)
        batch = consumer.poll_batch(max_spans=10, timeout_s=30)  # the middle of the read
        assert len(batch) == 10
        batch.ack()
        own_broker.stop()
        caplog.clear()

        raised: BrokerError | None = None
        read_after_stop = 0
        polls = 0
        while raised is None:
            polls += 1
            assert polls < 1_000, "no BrokerError while the broker stayed down"
            try:
                assert not consumer.caught_up()
                batch = consumer.poll_batch(max_spans=1_000, timeout_s=1)
                read_after_stop += len(batch)
                batch.ack()
            except BrokerError as exc:
                raised = exc
        assert 10 + read_after_stop < 300  # stopped in the middle: the rest was never read
        assert bootstrap in str(raised)
        assert f"broker_timeout_s={BROKER_TIMEOUT_S:g}" in str(raised)
        with pytest.raises(BrokerError):
            consumer.caught_up()

        # librdkafka retried every few ms, but each kind of line reached the log once.
        fail_lines = [
            r
            for r in caplog.records
            if r.name == "spanstream.consumer.librdkafka" and r.getMessage().startswith("FAIL ")
        ]
        levels = [r.levelname for r in fail_lines]
        assert fail_lines
        assert len(levels) == len(set(levels))  # once per level (librdkafka uses up to three)
        assert consumer.stats().kafka_errors > len(fail_lines)
    finally:
        consumer.close()


def test_a_commit_with_no_broker_raises_broker_error_within_broker_timeout_s(own_broker):
    """commit() with the broker stopped returns a BrokerError naming the servers, never hangs.

    librdkafka either fails the commit at once (no coordinator) or waits for ever (a request
    to a coordinator it still takes for alive), depending on timing; both end the same way.
    """
    bootstrap = own_broker.bootstrap_servers
    topic = "outage-commit"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(60)
    _write(bootstrap, topic, 20, 0)
    consumer = SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        start="earliest",
        broker_timeout_s=BROKER_TIMEOUT_S,
        # No interval commit: the offsets acknowledged below wait for commit() alone.
        config={"auto.commit.interval.ms": 3_600_000},
    )
    outcome: list[BaseException | dict[tuple[str, int], int]] = []
    try:
        batch = consumer.poll_batch(max_spans=5, timeout_s=60)
        assert len(batch) == 5
        own_broker.stop()
        batch.ack()

        def commit() -> None:
            try:
                outcome.append(consumer.commit())
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

        # On a thread: librdkafka's commit holds no interpreter lock a timeout could interrupt.
        thread = threading.Thread(target=commit, daemon=True)
        thread.start()
        thread.join(BROKER_TIMEOUT_S * 12)
        assert not thread.is_alive(), "commit() still waits with the broker stopped"
        assert len(outcome) == 1
        assert isinstance(outcome[0], BrokerError)
        assert isinstance(outcome[0], CommitError)  # as before: the offsets are retried
        assert bootstrap in str(outcome[0])
        assert consumer.stats().commit_failures == 1
    finally:
        consumer.close()
