"""Checkpoint trees over a real broker: children decoded when read, corrupt ones bad records.

The C decoder leaves a tree's children undecoded until ``Span.children`` is read, but checks
their bytes when the record is converted: a tree with a corrupt child meets the bad-record
policy (skip, raise, dead-letter) in the consumer, never later in the caller's code.
"""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer

from spanstream.consumer import DLQ_REASON_HEADER, SpanConsumer
from spanstream.schemas import DecodeError, Span, encode_span

IDLE_S = 4.0


def _trees(count: int) -> list[Span]:
    trees = []
    for i in range(count):
        root = Span.builder("org.apache.flink.Tracker", "Checkpoint").set_attribute("id", i)
        for task in range(8):
            child = Span.builder("org.apache.flink.Tracker", "Checkpoint_Task")
            root.add_child(child.set_attribute("task", task).set_attribute("flag", True))
        trees.append(root.build())
    return trees


def _corrupt_child(tree: Span) -> bytes:
    """``tree`` encoded, its last child's boolean byte set to 2 (the root stays valid)."""
    value = encode_span(tree)
    flag = value.rindex(b"\x08flag\x06\x01")
    return value[: flag + 6] + b"\x02" + value[flag + 7 :]


def _write(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value, partition=0)
    assert producer.flush(30) == 0


def _consumer(bootstrap: str, topic: str, **extra: object) -> SpanConsumer:
    return SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
        **extra,
    )


def test_trees_arrive_whole_and_a_corrupt_child_is_skipped(kafka_bootstrap, new_topic):
    """Under 'skip', good trees arrive equal to what was sent; a corrupt child's is counted."""
    topic = new_topic(partitions=1)
    good = _trees(4)
    _write(kafka_bootstrap, topic, [encode_span(good[0]), _corrupt_child(good[1])])
    _write(kafka_bootstrap, topic, [encode_span(tree) for tree in good[2:]])
    with _consumer(kafka_bootstrap, topic) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        stats = consumer.stats()
    assert [r.span for r in records] == [good[0], *good[2:]]
    assert [len(r.span.children) for r in records] == [8, 8, 8]
    assert stats.bad_records_by_reason == {"malformed": 1}


def test_a_corrupt_child_raises_from_the_consumer(kafka_bootstrap, new_topic):
    """Under 'raise', the tree with a corrupt child raises a located DecodeError when read."""
    topic = new_topic(partitions=1)
    good = _trees(2)
    _write(kafka_bootstrap, topic, [encode_span(good[0]), _corrupt_child(good[1])])
    with _consumer(kafka_bootstrap, topic, bad_records="raise") as consumer:
        iterator = consumer.iter_records(idle_timeout_s=IDLE_S)
        assert next(iterator).span == good[0]
        try:
            next(iterator)
        except DecodeError as error:
            raised = error
        else:
            raise AssertionError("the corrupt tree did not raise")
    assert (raised.reason, raised.topic, raised.partition, raised.offset) == (
        "malformed",
        topic,
        0,
        1,
    )


def test_a_corrupt_child_is_dead_lettered_as_it_was(kafka_bootstrap, new_topic):
    """Under 'dead-letter', the tree with a corrupt child lands on the DLQ byte for byte."""
    topic, dlq = new_topic(partitions=1), new_topic(partitions=1)
    good = _trees(2)
    corrupt = _corrupt_child(good[1])
    _write(kafka_bootstrap, topic, [corrupt, encode_span(good[0])])
    settings = {"bad_records": "dead-letter", "dead_letter_topic": dlq}
    with _consumer(kafka_bootstrap, topic, **settings) as consumer:
        received = [r.span for r in consumer.iter_records(idle_timeout_s=IDLE_S)]
        assert consumer.stats().dead_lettered == 1
    assert received == [good[0]]
    reader = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:10]}",
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe([dlq])
    dead: list = []
    try:
        for _ in range(60):
            dead.extend(m for m in reader.consume(10, 1.0) if m.error() is None)
            if dead:
                break
    finally:
        reader.close()
    assert [m.value() for m in dead] == [corrupt]
    assert dict(dead[0].headers())[DLQ_REASON_HEADER] == b"malformed"
