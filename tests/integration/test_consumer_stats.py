"""ConsumerStats counts spans and events apart on a topic that carries both (issue #13)."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Producer

from spanstream.consumer import EventRecord, SpanConsumer, SpanRecord
from spanstream.schemas import Event, Span, encode_event, encode_span

pytestmark = pytest.mark.integration

SPANS = 7
EVENTS = 5


def _mixed_topic(bootstrap: str, topic: str) -> None:
    """Write SPANS spans and EVENTS events, interleaved, to ``topic``."""
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(max(SPANS, EVENTS)):
        if i < SPANS:
            producer.produce(topic, encode_span(Span.builder("my.Job", f"Step-{i}").build()))
        if i < EVENTS:
            producer.produce(topic, encode_event(Event.builder("my.Job", f"Event-{i}").build()))
    assert producer.flush(30) == 0


def _consumer(bootstrap: str, topic: str) -> SpanConsumer:
    return SpanConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:10]}", start="earliest"
    )


def test_batches_count_spans_and_events_apart(kafka_bootstrap: str, new_topic) -> None:
    """poll_batch over a mixed topic: spans_delivered counts spans only, events_delivered events."""
    topic = new_topic(partitions=2)
    _mixed_topic(kafka_bootstrap, topic)
    records: list[SpanRecord | EventRecord] = []
    with _consumer(kafka_bootstrap, topic) as consumer:
        deadline = time.monotonic() + 120
        while len(records) < SPANS + EVENTS and time.monotonic() < deadline:
            batch = consumer.poll_batch(max_spans=100, timeout_s=1.0)
            records.extend(batch)
            batch.ack()
        stats = consumer.stats()
    assert sum(type(r) is EventRecord for r in records) == EVENTS
    assert (stats.spans_delivered, stats.events_delivered) == (SPANS, EVENTS)


def test_iteration_counts_spans_and_events_apart(kafka_bootstrap: str, new_topic) -> None:
    """Iterating a mixed topic: spans_delivered counts spans only, events_delivered events."""
    topic = new_topic(partitions=2)
    _mixed_topic(kafka_bootstrap, topic)
    with _consumer(kafka_bootstrap, topic) as consumer:
        records: list[SpanRecord | EventRecord] = []
        for record in consumer.iter_records(idle_timeout_s=60):
            records.append(record)
            if len(records) == SPANS + EVENTS:
                break
        stats = consumer.stats()
    assert len(records) == SPANS + EVENTS
    assert (stats.spans_delivered, stats.events_delivered) == (SPANS, EVENTS)
