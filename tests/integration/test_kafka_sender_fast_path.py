"""The sender's C produce loop (``producer/_produce.c``) against the real broker.

The loop produces the plain spans with the interpreter lock released and hands every other item
to the Python loop, the reference. These tests hold it to that: the same records on the topic
as the Python loop writes, the guard that it carries the plain spans, and every item it stops
at (too large, unencodable, librdkafka's queue full) handled and counted as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from _helpers import read_topic
from confluent_kafka.admin import AdminClient

import spanstream.producer._produce_loop as produce_loop
from spanstream.producer import KafkaEventReporter, KafkaTraceReporter, MetricConfig
from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    HEADER_SCHEMA_FINGERPRINT,
    Event,
    Span,
    SpanBuilder,
    decode_event,
    decode_span,
)

NewTopic = Callable[..., str]


def _open(bootstrap: str, topic: str, **settings: str) -> KafkaTraceReporter:
    reporter = KafkaTraceReporter()
    reporter.open(
        MetricConfig(
            {"bootstrap.servers": bootstrap, "topic": topic, "topic.create": "false", **settings},
            prefix="traces.reporter.kafka.",
        )
    )
    return reporter


@pytest.fixture
def reporters() -> Iterator[Callable[..., KafkaTraceReporter]]:
    opened: list[KafkaTraceReporter] = []

    def make(bootstrap: str, topic: str, **settings: str) -> KafkaTraceReporter:
        reporter = _open(bootstrap, topic, **settings)
        opened.append(reporter)
        return reporter

    yield make
    for reporter in opened:
        reporter.close(30)


def _tree(i: int) -> Span:
    root = (
        Span.builder("app.Job", "Checkpoint").set_attribute("i", i).set_attribute("<job_id>", "j")
    )
    for task in range(3):
        root.add_child(SpanBuilder("app.Job", "Task").set_attribute("task", task))
    return root.build()


def _spans(count: int) -> list[Span]:
    return [
        _tree(i)
        if i % 10 == 0
        else Span.builder("app.Job", "Step")
        .set_attribute("i", i)
        .set_attribute("<job_id>", "j")
        .build()
        for i in range(count)
    ]


def test_c_loop_writes_the_same_records_as_the_python_loop(
    kafka_bootstrap: str,
    new_topic: NewTopic,
    reporters: Callable[..., KafkaTraceReporter],
    monkeypatch: pytest.MonkeyPatch,
):
    """Value, key and headers of every record are the same from the C loop and the Python loop."""
    spans = _spans(2_000)
    fast_topic, python_topic = new_topic(partitions=1), new_topic(partitions=1)
    fast = reporters(kafka_bootstrap, fast_topic, **{"headers.additional": "team:core"})
    for span in spans:
        fast.notify_of_added_span(span)
    assert fast.flush(60) == 0
    monkeypatch.setattr(produce_loop, "record_producer", lambda *_, **__: None)
    python = reporters(kafka_bootstrap, python_topic, **{"headers.additional": "team:core"})
    for span in spans:
        python.notify_of_added_span(span)
    assert python.flush(60) == 0

    assert fast._sender.fast_produced == len(spans)
    assert python._sender.fast_produced == 0

    def records(topic: str) -> list[tuple[bytes | None, bytes | None, object]]:
        return [(m.value(), m.key(), m.headers()) for m in read_topic(kafka_bootstrap, topic)]

    assert records(fast_topic) == records(python_topic)
    assert fast.snapshot().delivered == python.snapshot().delivered == len(spans)
    assert fast.snapshot().delivered_bytes == python.snapshot().delivered_bytes


def test_items_the_c_loop_stops_at_are_handled_by_the_python_loop(
    kafka_bootstrap: str, new_topic: NewTopic, reporters: Callable[..., KafkaTraceReporter]
):
    """Too large and unencodable items are dropped and counted; the rest arrive in order."""
    topic = new_topic(partitions=1, config={"max.message.bytes": "20000"})
    reporter = reporters(kafka_bootstrap, topic)
    for i in range(300):
        builder = Span.builder("app.Job", "Step").set_attribute("i", i)
        if i == 100:
            builder.set_attribute("blob", "x" * 50_000)
        reporter.notify_of_added_span(builder.build())
        if i == 200:
            reporter.notify_of_added_span(object())  # type: ignore[arg-type]
    assert reporter.flush(60) == 0
    stats = reporter.snapshot()
    assert stats.dropped == {"too-large": 1, "encode-error": 1}
    assert stats.failed == {}
    assert stats.delivered == 299
    assert reporter._sender.fast_produced == 299
    values = [m.value() for m in read_topic(kafka_bootstrap, topic)]
    assert [decode_span(v).attributes["i"] for v in values] == [i for i in range(300) if i != 100]


def test_librdkafka_queue_full_is_backpressure_not_loss(
    kafka_bootstrap: str, new_topic: NewTopic, reporters: Callable[..., KafkaTraceReporter]
):
    """With room for 50 records in librdkafka, 20,000 spans all arrive, mostly through the C loop.

    Each time librdkafka's queue is full the C loop stops and the Python loop waits on that item
    (backpressure), then the C loop goes on.
    """
    topic = new_topic(partitions=1)
    reporter = reporters(
        kafka_bootstrap,
        topic,
        **{"queue.max.spans": "20000", "producer.queue.buffering.max.messages": "50"},
    )
    count = 20_000
    for i in range(count):
        reporter.notify_of_added_span(Span.builder("app.Job", "Step").set_attribute("i", i).build())
    assert reporter.flush(120) == 0
    stats = reporter.snapshot()
    assert (stats.delivered, stats.dropped, stats.failed) == (count, {}, {})
    assert count // 2 < reporter._sender.fast_produced < count
    assert len(read_topic(kafka_bootstrap, topic)) == count


def test_the_event_reporter_publishes_through_the_c_loop(kafka_bootstrap: str, new_topic: NewTopic):
    """Events take the same C loop: each arrives equal, keyed, with the event fingerprint header."""
    topic = new_topic(partitions=1)
    events = [
        Event.builder("app.Job", "StatusChange")
        .set_observed_ts_millis(1_732_000_000_000 + i)
        .set_attribute("i", i)
        .build(variables={"<job_id>": "job-1"})
        for i in range(500)
    ]
    reporter = KafkaEventReporter()
    reporter.open(
        MetricConfig(
            {"bootstrap.servers": kafka_bootstrap, "topic": topic, "topic.create": "false"},
            prefix="events.reporter.kafka.",
        )
    )
    try:
        for event in events:
            reporter.notify_of_added_event(event)
        assert reporter.flush(60) == 0
        assert reporter.snapshot().delivered == len(events)
        assert reporter._sender.fast_produced == len(events)
    finally:
        reporter.close(30)
    records = read_topic(kafka_bootstrap, topic)
    assert [decode_event(m.value()) for m in records] == events
    assert {m.key() for m in records} == {b"job-1"}
    assert all(
        dict(m.headers() or [])[HEADER_SCHEMA_FINGERPRINT]
        == EVENT_SCHEMA_FINGERPRINT.hex().encode()
        for m in records
    )


def test_failed_deliveries_of_c_loop_records_are_counted(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    new_topic: NewTopic,
    reporters: Callable[..., KafkaTraceReporter],
):
    """Records the C loop produced to a topic deleted since are counted failed, not delivered."""
    topic = new_topic(partitions=1)
    reporter = reporters(kafka_bootstrap, topic, **{"producer.message.timeout.ms": "3000"})
    reporter.notify_of_added_span(Span.builder("app.Job", "Before").build())
    assert reporter.flush(30) == 0
    kafka_admin.delete_topics([topic])[topic].result(30)
    deadline = time.monotonic() + 30
    while topic in kafka_admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.2)
    count = 100
    for i in range(count):
        reporter.notify_of_added_span(Span.builder("app.Job", "Step").set_attribute("i", i).build())
    assert reporter.flush(60) == 0
    stats = reporter.snapshot()
    assert reporter._sender.fast_produced == 1 + count
    assert (stats.delivered, stats.failed_total, stats.dropped) == (1, count, {})
    assert stats.accepted == stats.delivered + stats.failed_total + stats.dropped_after_accept
