"""At-least-once on a real broker: a SIGKILLed consumer and a rebalance lose no span."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from spanstream.consumer import SpanConsumer
from spanstream.schemas import Span, encode_span

_CHILD = textwrap.dedent(
    """
    import sys, time
    from spanstream.consumer import SpanConsumer

    bootstrap, topic, group, out = sys.argv[1:5]
    consumer = SpanConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, start="earliest",
        # A short session, so that the group notices the killed member soon.
        config={"auto.commit.interval.ms": 200, "session.timeout.ms": 6000},
    )
    with open(out, "a", buffering=1) as seen:
        for record in consumer:
            seen.write(record.span.span_id.hex() + "\\n")  # processed: written down
            time.sleep(0.002)
    """
)


def _produce(bootstrap: str, topic: str, count: int) -> set[str]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    ids = set()
    for i in range(count):
        span = Span.builder("org.example.Job", "work").set_start_ts_millis(1_000 + i).build()
        ids.add(span.span_id.hex())
        producer.produce(topic, encode_span(span), key=span.trace_id)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return ids


def _committed_total(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        committed = probe.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=10
        )
    finally:
        probe.close()
    return sum(max(tp.offset, 0) for tp in committed)


def _lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    # The last line may be cut by the kill; a cut line is a span that was not fully written.
    return [line for line in path.read_text().split("\n") if len(line) == 16]


def test_sigkilled_consumer_loses_nothing_and_restart_counts_duplicates(
    kafka_bootstrap, new_topic, tmp_path
):
    """A SIGKILLed consumer loses nothing: a restart sees every span it did not."""
    topic = new_topic(partitions=3)
    expected = _produce(kafka_bootstrap, topic, 3000)
    group = f"g-{uuid.uuid4().hex[:10]}"
    out = tmp_path / "seen.txt"
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    child = subprocess.Popen([sys.executable, str(script), kafka_bootstrap, topic, group, str(out)])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(_lines(out)) >= 800 and _committed_total(kafka_bootstrap, group, topic, 3) > 0:
                break
            assert child.poll() is None, "the consumer process ended early"
            time.sleep(0.2)
        else:
            raise AssertionError("the consumer process never committed")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    first = _lines(out)
    assert len(first) < len(expected), "killed mid-stream"

    # The killed member keeps its partitions until its session times out; then they move here.
    second: list[str] = []
    with SpanConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=group, start="earliest"
    ) as consumer:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and set(first) | set(second) != expected:
            second.extend(r.span.span_id.hex() for r in consumer.poll_batch(timeout_s=1.0))
        second.extend(r.span.span_id.hex() for r in consumer.iter_records(idle_timeout_s=2))
    assert set(first) | set(second) == expected  # no loss
    assert len(second) < len(expected)  # the restart resumed from the committed offsets
    duplicates = len(first) + len(second) - len(expected)
    assert duplicates >= 0
    print(f"first process: {len(first)}, restart: {len(second)}, duplicates: {duplicates}")


def test_a_member_joining_mid_stream_loses_nothing(kafka_bootstrap, new_topic):
    """A second consumer joining the group (a cooperative rebalance) loses no span."""
    topic = new_topic(partitions=6)
    expected = _produce(kafka_bootstrap, topic, 6000)
    group = f"g-{uuid.uuid4().hex[:10]}"
    seen: dict[str, list[str]] = {"a": [], "b": []}
    stats = {}
    a_started = threading.Event()
    b_joined = threading.Event()
    errors: list[BaseException] = []

    def consume(name: str, pause_s: float) -> None:
        try:
            with SpanConsumer(
                topic, bootstrap_servers=kafka_bootstrap, group_id=group, start="earliest"
            ) as consumer:
                for record in consumer.iter_records(idle_timeout_s=10):
                    seen[name].append(record.span.span_id.hex())
                    if len(seen[name]) == 1000:
                        a_started.set()
                    if name == "b":
                        b_joined.set()
                    # The first member slows down until the second has records, so that the
                    # rebalance happens mid-stream however slow the machine is.
                    time.sleep(pause_s if name == "b" or b_joined.is_set() else 5 * pause_s)
                stats[name] = consumer.stats()
        except BaseException as exc:
            errors.append(exc)
            a_started.set()

    first = threading.Thread(target=consume, args=("a", 0.001))
    first.start()
    assert a_started.wait(120)
    second = threading.Thread(target=consume, args=("b", 0.001))
    second.start()
    first.join(300)
    second.join(300)
    assert not errors
    assert set(seen["a"]) | set(seen["b"]) == expected
    assert seen["b"], "the second member got partitions"
    assert stats["a"].partitions_revoked > 0
    duplicates = len(seen["a"]) + len(seen["b"]) - len(expected)
    print(f"a: {len(seen['a'])}, b: {len(seen['b'])}, duplicates: {duplicates}")

    with SpanConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=group, start="earliest"
    ) as consumer:  # everything was committed on revoke and close
        assert list(consumer.iter_records(idle_timeout_s=3)) == []
