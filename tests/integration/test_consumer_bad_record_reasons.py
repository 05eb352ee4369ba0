"""Bad records told apart (issue #12, item 2): a tombstone, an empty value and a Confluent
Schema Registry message each have their own reason; with a registry, Confluent-framed spans
are spans.

The registry is confluent-kafka's ``mock://`` client (a stand-in for the registry's HTTP API
only); the records cross the real broker.
"""

from __future__ import annotations

import uuid

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient

from spanstream.consumer import SpanConsumer
from spanstream.schemas import DecodeError, Span, SpanCodec, encode_span

IDLE_S = 4.0


def _write(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
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


def test_tombstone_empty_and_confluent_records_have_their_own_reasons(kafka_bootstrap, new_topic):
    """A tombstone, an empty value and a magic-byte-0 message are counted by their own reason."""
    topic = new_topic(partitions=1)
    span = Span.builder("org.example.Job", "good").build()
    confluent = b"\x00" + (7).to_bytes(4, "big") + encode_span(span)[10:]
    _write(kafka_bootstrap, topic, [None, b"", confluent, b"garbage", encode_span(span)])
    with _consumer(kafka_bootstrap, topic) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        stats = consumer.stats()
    assert [r.span for r in records] == [span]
    assert stats.bad_records_by_reason == {
        "tombstone": 1,
        "empty": 1,
        "confluent-framed": 1,
        "bad-marker": 1,
    }


def test_a_tombstone_raises_with_none_as_its_raw_value(kafka_bootstrap, new_topic):
    """Under 'raise', a tombstone's DecodeError keeps None (not b"") as the raw value."""
    topic = new_topic(partitions=1)
    _write(kafka_bootstrap, topic, [None, b""])
    errors: list[DecodeError] = []
    with _consumer(kafka_bootstrap, topic, bad_records="raise") as consumer:
        while len(errors) < 2:
            try:
                next(consumer.iter_records(idle_timeout_s=30))
            except DecodeError as exc:
                errors.append(exc)
    assert [(e.reason, e.raw) for e in errors] == [("tombstone", None), ("empty", b"")]


def test_a_consumer_with_a_schema_registry_decodes_confluent_framed_spans(
    kafka_bootstrap, new_topic
):
    """Confluent-framed spans (registered through the registry) come back as spans."""
    topic = new_topic(partitions=1)
    registry = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})
    writer = SpanCodec(framing="confluent", registry=registry, subject=f"{topic}-value")
    spans = [
        Span.builder("org.example.Job", f"s-{i}").set_attribute("i", i).build() for i in range(3)
    ]
    _write(
        kafka_bootstrap,
        topic,
        [writer.encode(spans[0]), encode_span(spans[1]), writer.encode(spans[2])],
    )
    with _consumer(kafka_bootstrap, topic, schema_registry=registry) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        stats = consumer.stats()
    assert [r.span for r in records] == spans
    assert stats.bad_records == 0
