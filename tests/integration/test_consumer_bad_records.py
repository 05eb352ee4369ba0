"""Bad records on a real broker: never stop a partition, never crash; skip, raise, dead-letter."""

import io
import uuid

import fastavro
import pytest
from confluent_kafka import Consumer, Producer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from spanstream.consumer import (
    DLQ_OFFSET_HEADER,
    DLQ_PARTITION_HEADER,
    DLQ_REASON_HEADER,
    DLQ_TOPIC_HEADER,
    DeadLetterError,
    SpanConsumer,
)
from spanstream.schemas import DecodeError, Span, encode_span

IDLE_S = 4.0
# A dead-letter producer whose broker is down: every write fails, transiently, within 3 s.
UNREACHABLE_DLQ = {"bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": 3000}

_OTHER_SCHEMA = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Invoice",
        "fields": [{"name": "customer", "type": "string"}, {"name": "cents", "type": "long"}],
    }
)


def _other_schema_message() -> bytes:
    """Valid Avro single-object encoding of a record of another schema."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, _OTHER_SCHEMA, {"customer": "acme", "cents": 1234})
    other_fingerprint = fingerprint(to_parsing_canonical_form(_OTHER_SCHEMA), "CRC-64-AVRO")
    return b"\xc3\x01" + bytes.fromhex(other_fingerprint) + body.getvalue()


def _poison() -> dict[str, bytes]:
    template = encode_span(Span.builder("s", "template").set_attribute("k", "v").build())
    return {
        "garbage": b"this is not a span at all",
        "truncated": template[:-6],
        "unknown-fingerprint": b"\xc3\x01" + b"\x00" * 8 + template[10:],
        "other-schema": _other_schema_message(),
        "other-body-span-header": template[:10] + _other_schema_message()[10:],
    }


def _write_interleaved(bootstrap: str, topic: str, good: list[Span]) -> dict[bytes, str]:
    """Write poison messages between good ones, all to partition 0; return poison -> kind."""
    poison = _poison()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    kinds = list(poison)
    for i, span in enumerate(good):
        producer.produce(topic, encode_span(span), key=span.trace_id, partition=0)
        if i % 3 == 1 and kinds:
            kind = kinds.pop(0)
            producer.produce(
                topic,
                poison[kind],
                key=f"key-{kind}".encode(),
                headers=[("kind", kind.encode())],
                partition=0,
            )
    assert not kinds
    assert producer.flush(30) == 0
    return {value: kind for kind, value in poison.items()}


def _good(count: int) -> list[Span]:
    return [
        Span.builder("org.example.Job", f"good-{i}").set_start_ts_millis(1_000 + i).build()
        for i in range(count)
    ]


def _group() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


def test_skip_policy_counts_bad_records_and_delivers_every_good_one(kafka_bootstrap, new_topic):
    """Under 'skip', every good span arrives in order and each poison is counted by reason."""
    topic = new_topic(partitions=1)
    good = _good(20)
    _write_interleaved(kafka_bootstrap, topic, good)
    with SpanConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=_group(), start="earliest"
    ) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        stats = consumer.stats()
    assert [r.span for r in records] == good
    assert stats.bad_records == 5
    assert stats.bad_records_by_reason == {
        "bad-marker": 1,
        "truncated": 2,
        "unknown-fingerprint": 2,
    }


def test_skip_policy_commits_past_bad_records(kafka_bootstrap, new_topic):
    """A skipped bad record at the end of a partition is committed past, not re-read."""
    topic = new_topic(partitions=1)
    _write_interleaved(kafka_bootstrap, topic, _good(15))
    group = _group()
    settings = {"bootstrap_servers": kafka_bootstrap, "group_id": group, "start": "earliest"}
    with SpanConsumer(topic, **settings) as consumer:
        list(consumer.iter_records(idle_timeout_s=IDLE_S))
    with SpanConsumer(topic, **settings) as consumer:
        assert list(consumer.iter_records(idle_timeout_s=2)) == []
        assert consumer.stats().records_consumed == 0


def test_raise_policy_raises_located_errors_and_continues_past_them(kafka_bootstrap, new_topic):
    """Under 'raise', each poison raises a located DecodeError; iterating again goes on."""
    topic = new_topic(partitions=1)
    good = _good(20)
    poison = _write_interleaved(kafka_bootstrap, topic, good)
    received: list[Span] = []
    errors: list[DecodeError] = []
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=_group(),
        start="earliest",
        bad_records="raise",
    ) as consumer:
        iterator = consumer.iter_records(idle_timeout_s=IDLE_S)
        while True:
            try:
                record = next(iterator)
            except DecodeError as exc:
                errors.append(exc)
                iterator = consumer.iter_records(idle_timeout_s=IDLE_S)
                continue
            except StopIteration:
                break
            received.append(record.span)
    assert received == good
    assert sorted(poison[e.raw] for e in errors) == sorted(poison.values())
    for error in errors:
        assert (error.topic, error.partition) == (topic, 0)
        assert error.offset is not None
        assert error.offset >= 0
    assert len({e.offset for e in errors}) == 5


def test_raise_policy_in_batches_returns_good_records_before_the_error(kafka_bootstrap, new_topic):
    """poll_batch returns the good records before a poison, raises it next, then goes on."""
    topic = new_topic(partitions=1)
    good = _good(20)
    _write_interleaved(kafka_bootstrap, topic, good)
    received: list[Span] = []
    errors = 0
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=_group(),
        start="earliest",
        bad_records="raise",
    ) as consumer:
        empty_polls = 0
        while empty_polls < 2:
            try:
                batch = consumer.poll_batch(max_spans=100, timeout_s=2.0)
            except DecodeError:
                errors += 1
                continue
            empty_polls = 0 if batch else empty_polls + 1
            received.extend(batch.spans)
            batch.ack()
    assert received == good
    assert errors == 5


def test_dead_letter_policy_writes_originals_with_reason_and_origin(kafka_bootstrap, new_topic):
    """Under 'dead-letter', each poison lands on the DLQ as it was, plus reason and origin."""
    topic, dlq = new_topic(partitions=1), new_topic(partitions=1)
    good = _good(20)
    poison = _write_interleaved(kafka_bootstrap, topic, good)
    group = _group()
    settings = {
        "bootstrap_servers": kafka_bootstrap,
        "group_id": group,
        "start": "earliest",
        "bad_records": "dead-letter",
        "dead_letter_topic": dlq,
    }
    with SpanConsumer(topic, **settings) as consumer:
        received = [r.span for r in consumer.iter_records(idle_timeout_s=IDLE_S)]
        stats = consumer.stats()
    assert received == good
    assert stats.dead_lettered == 5

    reader = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": _group(),
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe([dlq])
    dead: list = []
    for _ in range(60):
        dead.extend(m for m in reader.consume(10, 1.0) if m.error() is None)
        if len(dead) >= 5:
            break
    reader.close()
    assert len(dead) == 5
    for message in dead:
        kind = poison[message.value()]
        headers = dict(message.headers())
        assert message.key() == f"key-{kind}".encode()
        assert headers["kind"] == kind.encode()
        assert headers[DLQ_TOPIC_HEADER] == topic.encode()
        assert headers[DLQ_PARTITION_HEADER] == b"0"
        assert int(headers[DLQ_OFFSET_HEADER]) >= 0
        assert headers[DLQ_REASON_HEADER] in {b"bad-marker", b"truncated", b"unknown-fingerprint"}

    with SpanConsumer(topic, **settings) as consumer:  # committed past everything
        assert list(consumer.iter_records(idle_timeout_s=2)) == []


def test_unreachable_dead_letter_topic_never_commits_past_the_record(kafka_bootstrap, new_topic):
    """If the DLQ write fails for now, DeadLetterError is raised and the record is not committed
    past."""
    topic = new_topic(partitions=1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, b"garbage", partition=0)
    producer.flush(30)
    settings = {
        "bootstrap_servers": kafka_bootstrap,
        "group_id": _group(),
        "start": "earliest",
        "bad_records": "dead-letter",
        # The dead-letter producer's broker is down (a transient failure): it fails for sure.
        "dead_letter_topic": "dlq",
        "dead_letter_config": UNREACHABLE_DLQ,
    }
    with SpanConsumer(topic, **settings) as consumer:
        with pytest.raises(DeadLetterError) as failure:
            list(consumer.iter_records(idle_timeout_s=IDLE_S))
        assert failure.value.error.raw == b"garbage"
        with pytest.raises(DeadLetterError):  # retried, not skipped
            list(consumer.iter_records(idle_timeout_s=IDLE_S))
        assert consumer.stats().dead_letter_failures == 2
    settings["bad_records"] = "skip"
    with SpanConsumer(topic, **settings) as consumer:
        list(consumer.iter_records(idle_timeout_s=IDLE_S))
        assert consumer.stats().bad_records == 1


def test_failed_dead_letter_write_in_a_batch_is_retried_not_skipped(kafka_bootstrap, new_topic):
    """In batches too: good records before the poison come first, then DeadLetterError, again."""
    topic = new_topic(partitions=1)
    good = _good(3)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for span in good:
        producer.produce(topic, encode_span(span), partition=0)
    producer.produce(topic, b"garbage", partition=0)
    producer.flush(30)
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=_group(),
        start="earliest",
        bad_records="dead-letter",
        dead_letter_topic="dlq",
        dead_letter_config=UNREACHABLE_DLQ,
    ) as consumer:
        batch = consumer.poll_batch(max_spans=10, timeout_s=IDLE_S)
        assert list(batch.spans) == good
        batch.ack()
        for _ in range(2):
            with pytest.raises(DeadLetterError):
                consumer.poll_batch(max_spans=10, timeout_s=IDLE_S)
        assert consumer.stats().dead_letter_failures == 2
        assert consumer.stats().bad_records == 0
