"""Events on the wire: the Kafka event reporter, the contract and the consumer, on a real broker.

A topic may carry spans, events or both; one consumer reads it and dispatches by the schema
fingerprint of each message.
"""

from __future__ import annotations

import time
import uuid

import pytest
from _helpers import read_topic
from confluent_kafka import Producer

from spanstream.consumer import (
    EventRecord,
    SpanConsumer,
    SpanRecord,
    events_to_arrow,
    to_arrow,
)
from spanstream.producer import KafkaEventReporter, KafkaTraceReporter, MetricConfig
from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    HEADER_SCHEMA_FINGERPRINT,
    SCHEMA_FINGERPRINT,
    DecodeError,
    Event,
    Span,
    decode_event,
)

EVENTS = 50
SPANS = 50


def _events() -> list[Event]:
    events = []
    for i in range(EVENTS):
        builder = (
            Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
            .set_observed_ts_millis(1_732_000_000_000 + i)
            .set_severity("INFO")
            .set_attribute("newJobStatus", "RUNNING")
            .set_attribute("i", i)
        )
        variables = {"<job_id>": f"job-{i % 3}"}
        if i % 5 == 0:
            span = Span.builder("my.Job", "Step").build()
            events.append(
                builder.build(variables=variables, trace_id=span.trace_id, span_id=span.span_id)
            )
        else:
            events.append(builder.build(variables=variables))
    return events


def _spans() -> list[Span]:
    return [
        Span.builder("my.app.Job", f"Step-{i}").set_attribute("i", i).build() for i in range(SPANS)
    ]


def _open_event_reporter(bootstrap: str, topic: str | None) -> KafkaEventReporter:
    values = {"bootstrap.servers": bootstrap, "topic.create": "false"}
    if topic is not None:
        values["topic"] = topic
    reporter = KafkaEventReporter()
    reporter.open(MetricConfig(values, prefix="events.reporter.kafka."))
    return reporter


def _read_all(
    bootstrap: str, topic: str, expected: int, **options: object
) -> tuple[list[SpanRecord | EventRecord], SpanConsumer]:
    records: list[SpanRecord | EventRecord] = []
    consumer = SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
        **options,  # type: ignore[arg-type]
    )
    deadline = time.monotonic() + 120
    while len(records) < expected and time.monotonic() < deadline:
        batch = consumer.poll_batch(max_spans=1000, timeout_s=1.0)
        records.extend(batch)
        batch.ack()
    return records, consumer


@pytest.mark.integration
def test_events_round_trip_through_the_event_reporter_and_the_consumer(
    kafka_bootstrap: str, new_topic
) -> None:
    """Every event reported comes back equal, as an EventRecord, with the event fingerprint."""
    topic = new_topic(partitions=3)
    events = _events()
    reporter = _open_event_reporter(kafka_bootstrap, topic)
    try:
        for event in events:
            reporter.notify_of_added_event(event)
        assert reporter.flush(60) == 0
        stats = reporter.snapshot()
        assert (stats.delivered, stats.failed_total, stats.dropped_total) == (EVENTS, 0, 0)
    finally:
        reporter.close(10)
    records, consumer = _read_all(kafka_bootstrap, topic, EVENTS)
    consumer.close()
    assert all(type(r) is EventRecord for r in records)
    received = {r.event.event_id: r.event for r in records}  # type: ignore[union-attr]
    assert received == {e.event_id: e for e in events}
    for record in records:
        headers = dict(record.headers)
        assert headers[HEADER_SCHEMA_FINGERPRINT] == EVENT_SCHEMA_FINGERPRINT.hex().encode()


@pytest.mark.integration
def test_the_event_reporter_defaults_to_the_flink_events_topic(kafka_bootstrap: str) -> None:
    """Without a topic setting, events land on flink-events (created if missing)."""
    event = Event.builder("my.Job", f"Marker-{uuid.uuid4().hex}").build()
    reporter = KafkaEventReporter()
    reporter.open(
        MetricConfig({"bootstrap.servers": kafka_bootstrap}, prefix="events.reporter.kafka.")
    )
    try:
        reporter.notify_of_added_event(event)
        assert reporter.flush(60) == 0
        assert reporter.snapshot().delivered == 1
    finally:
        reporter.close(10)
    values = [m.value() for m in read_topic(kafka_bootstrap, "flink-events")]
    assert event in [decode_event(v) for v in values if v is not None]


@pytest.mark.integration
def test_one_consumer_reads_a_topic_of_spans_and_events(kafka_bootstrap: str, new_topic) -> None:
    """Spans and events on one topic: span records carry .span, event records .event."""
    topic = new_topic(partitions=2)
    spans, events = _spans(), _events()
    traces = KafkaTraceReporter()
    traces.open(
        MetricConfig(
            {"bootstrap.servers": kafka_bootstrap, "topic": topic, "topic.create": "false"},
            prefix="traces.reporter.kafka.",
        )
    )
    event_reporter = _open_event_reporter(kafka_bootstrap, topic)
    try:
        for span, event in zip(spans, events, strict=True):
            traces.notify_of_added_span(span)
            event_reporter.notify_of_added_event(event)
        assert traces.flush(60) == 0
        assert event_reporter.flush(60) == 0
    finally:
        traces.close(10)
        event_reporter.close(10)
    records, consumer = _read_all(kafka_bootstrap, topic, SPANS + EVENTS)
    stats = consumer.stats()
    consumer.close()
    got_spans = [r.span for r in records if isinstance(r, SpanRecord)]
    got_events = [r.event for r in records if isinstance(r, EventRecord)]
    assert sorted(got_spans, key=lambda s: s.name) == sorted(spans, key=lambda s: s.name)
    assert {e.event_id: e for e in got_events} == {e.event_id: e for e in events}
    assert stats.bad_records == 0
    for record in records:
        fingerprint = dict(record.headers)[HEADER_SCHEMA_FINGERPRINT]
        expected = (
            SCHEMA_FINGERPRINT if isinstance(record, SpanRecord) else EVENT_SCHEMA_FINGERPRINT
        )
        assert fingerprint == expected.hex().encode()
    span_rows = to_arrow(records)
    event_rows = events_to_arrow(records)
    assert span_rows.num_rows == SPANS
    assert event_rows.num_rows == EVENTS
    assert sorted(event_rows.column("event_id").to_pylist()) == sorted(
        e.event_id.hex() for e in events
    )


def _produce_raw(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0


@pytest.mark.integration
def test_a_broken_event_message_meets_the_bad_record_policy(
    kafka_bootstrap: str, new_topic
) -> None:
    """An event message cut short is a bad record (skipped and counted; raised under raise)."""
    from spanstream.schemas import encode_event, encode_span

    topic = new_topic(partitions=1)
    good_event = Event.builder("my.Job", "Good").build()
    good_span = Span.builder("my.Job", "Good").build()
    broken = encode_event(Event.builder("my.Job", "Broken").build())[:-3]
    _produce_raw(kafka_bootstrap, topic, [encode_span(good_span), broken, encode_event(good_event)])
    records, consumer = _read_all(kafka_bootstrap, topic, 2)
    stats = consumer.stats()
    consumer.close()
    assert [type(r) for r in records] == [SpanRecord, EventRecord]
    assert stats.bad_records == 1
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
        bad_records="raise",
    ) as raising:
        first = next(raising)
        assert isinstance(first, SpanRecord)
        with pytest.raises(DecodeError) as caught:
            next(raising)
        assert caught.value.raw == broken
        assert isinstance(next(raising), EventRecord)


@pytest.mark.integration
def test_add_event_through_the_registry_reaches_the_consumer_with_its_span(
    kafka_bootstrap: str, new_topic
) -> None:
    """events.reporter.<name>.factory.class: kafka; an event added inside a span carries its ids."""
    from spanstream.producer import ReporterRegistry

    topic = new_topic(partitions=1)
    common = {"bootstrap.servers": kafka_bootstrap, "topic": topic, "topic.create": "false"}
    config: dict[str, object] = {"traces.reporter.k.factory.class": "kafka"}
    config |= {f"traces.reporter.k.{key}": value for key, value in common.items()}
    config |= {"events.reporter.k.factory.class": "kafka"}
    config |= {f"events.reporter.k.{key}": value for key, value in common.items()}
    registry = ReporterRegistry.from_config(config)
    job = registry.root_group(name="jobmanager").add_group("job", variables={"job_id": "j-1"})
    with job.span("my.etl.Job", "Run"):
        job.add_event(Event.builder("my.etl.Job", "BatchLoaded").set_severity("INFO"))
    assert isinstance(registry.event_reporter("k"), KafkaEventReporter)
    registry.close()
    records, consumer = _read_all(kafka_bootstrap, topic, 2)
    consumer.close()
    (span_record,) = [r for r in records if isinstance(r, SpanRecord)]
    (event_record,) = [r for r in records if isinstance(r, EventRecord)]
    assert span_record.span.name == "Run"
    assert event_record.event.name == "BatchLoaded"
    assert event_record.event.trace_id == span_record.span.trace_id
    assert event_record.event.span_id == span_record.span.span_id
    assert event_record.event.attributes["<job_id>"] == "j-1"
