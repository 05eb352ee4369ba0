"""SpanConsumer on a real broker: records, start positions, batches, commits, replay, stats."""

import datetime as dt
import time
import uuid

import pytest
from confluent_kafka import ConsumerGroupState, Producer

from spanstream.consumer import ConsumerClosedError, SpanConsumer, SpanRecord
from spanstream.schemas import ConfigError, Span, encode_span

IDLE_S = 5.0


def _spans(count: int, *, start_ms: int = 1_700_000_000_000) -> list[Span]:
    return [
        Span.builder("org.example.Job", f"step-{i}")
        .set_start_ts_millis(start_ms + i)
        .set_end_ts_millis(start_ms + i + 7)
        .set_attributes({"i": i, "ratio": i / 3, "ok": i % 2 == 0, "<job_id>": "j1"})
        .add_child(Span.builder("org.example.Job", "child").set_start_ts_millis(start_ms + i))
        .build()
        for i in range(count)
    ]


def _produce(
    bootstrap: str,
    topic: str,
    spans: list[Span],
    *,
    timestamp_ms: int | None = None,
    partition: int | None = None,
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in spans:
        kwargs = {"key": span.trace_id, "headers": [("origin", b"test")]}
        if timestamp_ms is not None:
            kwargs["timestamp"] = timestamp_ms
        if partition is not None:
            kwargs["partition"] = partition
        producer.produce(topic, encode_span(span), **kwargs)
    assert producer.flush(30) == 0


def _group() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


def _consumer(bootstrap: str, topic: str, group: str, **kwargs) -> SpanConsumer:
    settings = {"start": "earliest"} | kwargs
    return SpanConsumer(topic, bootstrap_servers=bootstrap, group_id=group, **settings)


def test_iteration_yields_exact_spans_with_their_kafka_metadata(kafka_bootstrap, new_topic):
    """Each record carries the rebuilt span plus topic, partition, offset, key, headers, time."""
    topic = new_topic()
    spans = _spans(50)
    _produce(kafka_bootstrap, topic, spans, timestamp_ms=1_700_000_123_000)
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert sorted((r.span for r in records), key=lambda s: s.name) == sorted(
        spans, key=lambda s: s.name
    )
    for record in records:
        assert record.topic == topic
        assert record.key == record.span.trace_id
        assert record.headers == (("origin", b"test"),)
        assert record.timestamp_ms == 1_700_000_123_000
    assert len({(r.partition, r.offset) for r in records}) == 50


def test_regex_subscription_reads_matching_topics(kafka_bootstrap, new_topic):
    """A ^pattern subscribes to every matching topic."""
    first, second = new_topic(partitions=1), new_topic(partitions=1)
    _produce(kafka_bootstrap, first, _spans(3))
    _produce(kafka_bootstrap, second, _spans(4))
    pattern = "^(" + first.replace(".", r"\.") + "|" + second.replace(".", r"\.") + ")$"
    with _consumer(kafka_bootstrap, pattern, _group()) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert sorted(r.topic for r in records) == sorted([first] * 3 + [second] * 4)


def test_latest_start_skips_records_written_before_joining(kafka_bootstrap, new_topic):
    """start='latest' with no committed offset reads only what is written after assignment."""
    topic = new_topic()
    old, new = _spans(5), _spans(5, start_ms=1_800_000_000_000)
    _produce(kafka_bootstrap, topic, old)
    with _consumer(kafka_bootstrap, topic, _group(), start="latest") as consumer:
        assert consumer.wait_for_assignment(timeout_s=30)
        assert list(consumer.iter_records(idle_timeout_s=2)) == []
        _produce(kafka_bootstrap, topic, new)
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert {r.span for r in records} == set(new)


@pytest.mark.parametrize("as_datetime", [False, True])
def test_time_start_begins_at_the_first_record_at_or_after_it(
    kafka_bootstrap, new_topic, as_datetime
):
    """A wall-clock start (epoch ms or aware datetime) starts partitions by offsets-for-times."""
    topic = new_topic()
    early, late = _spans(6), _spans(6, start_ms=1_800_000_000_000)
    _produce(kafka_bootstrap, topic, early, timestamp_ms=1_700_000_000_000)
    _produce(kafka_bootstrap, topic, late, timestamp_ms=1_700_000_060_000)
    when_ms = 1_700_000_030_000
    start = dt.datetime.fromtimestamp(when_ms / 1000, tz=dt.UTC) if as_datetime else when_ms
    with _consumer(kafka_bootstrap, topic, _group(), start=start) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert {r.span for r in records} == set(late)


def test_time_start_does_not_override_committed_offsets(kafka_bootstrap, new_topic):
    """A group that committed resumes where it was, whatever the start time says."""
    topic = new_topic(partitions=1)
    spans = _spans(10)
    _produce(kafka_bootstrap, topic, spans, timestamp_ms=1_700_000_000_000)
    group = _group()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        for _ in range(4):
            next(consumer)
    with _consumer(kafka_bootstrap, topic, group, start=0) as consumer:
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert [r.offset for r in records] == list(range(4, 10))


def test_iteration_commits_only_records_moved_past(kafka_bootstrap, new_topic):
    """Leaving a with-block on an exception does not commit the record being processed."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, _spans(5))
    group = _group()

    def process_until_failure() -> None:
        with _consumer(kafka_bootstrap, topic, group) as consumer:
            for record in consumer:
                if record.offset == 2:
                    raise RuntimeError("processing failed")

    with pytest.raises(RuntimeError):
        process_until_failure()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        assert next(consumer).offset == 2


def test_close_commits_the_last_iterated_record(kafka_bootstrap, new_topic):
    """A normal close counts the last record handed out as processed."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, _spans(5))
    group = _group()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        for record in consumer:
            if record.offset == 2:
                break
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        assert next(consumer).offset == 3


def test_unacked_batch_is_delivered_again(kafka_bootstrap, new_topic):
    """A batch that was never acknowledged is not committed: the group reads it again."""
    topic = new_topic(partitions=1)
    spans = _spans(20)
    _produce(kafka_bootstrap, topic, spans)
    group = _group()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        first = consumer.poll_batch(max_spans=20, timeout_s=IDLE_S)
        assert len(first) == 20
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        again = consumer.poll_batch(max_spans=20, timeout_s=IDLE_S)
    assert again.spans == first.spans


def test_acked_batch_is_committed(kafka_bootstrap, new_topic):
    """batch.ack() commits the batch: the group continues after it."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, _spans(20))
    group = _group()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        batch = consumer.poll_batch(max_spans=8, timeout_s=IDLE_S)
        assert len(batch) == 8
        batch.ack()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        rest = consumer.poll_batch(max_spans=100, timeout_s=IDLE_S)
    assert [r.offset for r in rest] == list(range(8, 20))


def test_acking_a_later_batch_commits_nothing_past_an_earlier_one(kafka_bootstrap, new_topic):
    """With batch 1 unacknowledged, acking batch 2 commits nothing past batch 1."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, _spans(20))
    group = _group()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        consumer.poll_batch(max_spans=5, timeout_s=IDLE_S)
        consumer.poll_batch(max_spans=5, timeout_s=IDLE_S).ack()
        assert consumer.commit() == {(topic, 0): 10}  # commit() acknowledges everything
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        first = consumer.poll_batch(max_spans=5, timeout_s=IDLE_S)
        consumer.poll_batch(max_spans=5, timeout_s=IDLE_S).ack()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        again = consumer.poll_batch(max_spans=5, timeout_s=IDLE_S)
    assert again.spans == first.spans


def test_poll_batch_waits_at_most_its_timeout_for_an_empty_topic(kafka_bootstrap, new_topic):
    """An empty topic gives an empty batch."""
    topic = new_topic()
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        batch = consumer.poll_batch(max_spans=10, timeout_s=1.0)
    assert len(batch) == 0


def test_seek_to_beginning_replays_every_partition(kafka_bootstrap, new_topic):
    """seek_to_beginning() rereads every assigned partition from its first record."""
    topic = new_topic()
    spans = _spans(30)
    _produce(kafka_bootstrap, topic, spans)
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        first = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        consumer.seek_to_beginning()
        again = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        stats = consumer.stats()
    assert {r.span for r in first} == {r.span for r in again} == set(spans)
    assert len(again) == 30
    assert stats.duplicate_spans == 0  # a deliberate replay is not redelivery


def test_seek_to_end_skips_what_is_there(kafka_bootstrap, new_topic):
    """seek_to_end() moves past every record written so far."""
    topic = new_topic()
    _produce(kafka_bootstrap, topic, _spans(10))
    later = _spans(3, start_ms=1_900_000_000_000)
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        assert consumer.wait_for_assignment(timeout_s=30)
        consumer.seek_to_end()
        _produce(kafka_bootstrap, topic, later)
        records = list(consumer.iter_records(idle_timeout_s=IDLE_S))
    assert {r.span for r in records} == set(later)


def _read_at_least(consumer: SpanConsumer, count: int, *, deadline_s: float) -> list[SpanRecord]:
    """Read until ``count`` records came (a loaded machine may take longer than IDLE_S to fetch
    after a seek), then until IDLE_S passes with none, so that extra records would show."""
    records: list[SpanRecord] = []
    deadline = time.monotonic() + deadline_s
    while len(records) < count and time.monotonic() < deadline:
        records.extend(r for r in consumer.poll_batch(timeout_s=1.0) if isinstance(r, SpanRecord))
    records.extend(
        r for r in consumer.iter_records(idle_timeout_s=IDLE_S) if isinstance(r, SpanRecord)
    )
    return records


def test_seek_to_time_replays_from_a_wall_clock_time(kafka_bootstrap, new_topic):
    """seek_to_time() moves every partition to its first record at or after the time."""
    topic = new_topic()
    early, late = _spans(9), _spans(9, start_ms=1_800_000_000_000)
    _produce(kafka_bootstrap, topic, early, timestamp_ms=1_700_000_000_000)
    _produce(kafka_bootstrap, topic, late, timestamp_ms=1_700_000_060_000)
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        assert len(list(consumer.iter_records(idle_timeout_s=IDLE_S))) == 18
        consumer.seek_to_time(dt.datetime.fromtimestamp(1_700_000_030, tz=dt.UTC))
        replayed = _read_at_least(consumer, 9, deadline_s=60)
    assert {r.span for r in replayed} == set(late)
    assert len(replayed) == 9


def test_duplicates_are_counted_and_can_be_dropped(kafka_bootstrap, new_topic):
    """A span delivered twice (same ids) is counted; drop_duplicates delivers it once."""
    topic = new_topic(partitions=1)
    spans = _spans(5)
    _produce(kafka_bootstrap, topic, spans + spans[:2])
    with _consumer(kafka_bootstrap, topic, _group()) as consumer:
        counted = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        assert consumer.stats().duplicate_spans == 2
    with _consumer(kafka_bootstrap, topic, _group(), drop_duplicates=True) as consumer:
        dropped = list(consumer.iter_records(idle_timeout_s=IDLE_S))
        assert consumer.stats().duplicates_dropped == 2
    assert len(counted) == 7
    assert [r.span for r in dropped] == spans


def test_use_after_close_is_an_error(kafka_bootstrap, new_topic):
    """poll_batch after close() raises ConsumerClosedError; iteration just stops."""
    topic = new_topic()
    consumer = _consumer(kafka_bootstrap, topic, _group())
    consumer.close()
    with pytest.raises(ConsumerClosedError):
        consumer.poll_batch(timeout_s=0.1)
    assert list(consumer) == []


def test_passthrough_properties_reach_librdkafka(kafka_bootstrap, new_topic):
    """A librdkafka property given in config is applied (a bad value fails at construction)."""
    topic = new_topic()
    with pytest.raises(ConfigError, match=r"session\.timeout\.ms"):
        _consumer(kafka_bootstrap, topic, _group(), config={"session.timeout.ms": "soon"})


def test_passthrough_client_id_reaches_the_group_and_close_leaves_it(
    kafka_bootstrap, kafka_admin, new_topic
):
    """A passed-through client.id is what the group sees; close() leaves the group empty."""
    topic = new_topic()
    group = _group()
    client_id = f"spanstream-{uuid.uuid4().hex[:6]}"
    consumer = _consumer(kafka_bootstrap, topic, group, config={"client.id": client_id})
    try:
        assert consumer.wait_for_assignment(timeout_s=30)
        described = kafka_admin.describe_consumer_groups([group])[group].result(timeout=30)
        assert [member.client_id for member in described.members] == [client_id]
    finally:
        consumer.close()
    described = kafka_admin.describe_consumer_groups([group])[group].result(timeout=30)
    assert described.members == []
    assert described.state == ConsumerGroupState.EMPTY


def test_dropped_duplicates_in_batches_are_committed_past(kafka_bootstrap, new_topic):
    """A batch skips dropped duplicates yet commits past them once acknowledged."""
    topic = new_topic(partitions=1)
    spans = _spans(6)
    _produce(kafka_bootstrap, topic, spans + spans[:3])
    group = _group()
    with _consumer(kafka_bootstrap, topic, group, drop_duplicates=True) as consumer:
        batch = consumer.poll_batch(max_spans=100, timeout_s=IDLE_S)
        assert list(batch.spans) == spans
        batch.ack()
    with _consumer(kafka_bootstrap, topic, group) as consumer:
        assert list(consumer.iter_records(idle_timeout_s=2)) == []
