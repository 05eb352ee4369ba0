"""SpanReader and read_spans: a topic read by assignment, with no consumer group."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from _readme import python_block
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from spanstream.consumer import SpanReader, TopicNotFoundError, read_arrow, read_spans
from spanstream.schemas import BrokerError, Event, Span, encode_event, encode_span
from spanstream.schemas.system import checkpoint_span

README = Path(__file__).resolve().parents[2] / "README.md"
T0 = 1_700_000_000_000  # record timestamps: T0, T0 + 1000, ...


def _span(i: int) -> Span:
    return (
        Span.builder("com.example.Loader", "Load")
        .set_start_ts_millis(T0 + i * 1000)
        .set_end_ts_millis(T0 + i * 1000 + 10 * i)
        .set_attribute("batch", i)
        .set_attribute("cacheHit", i % 2 == 0)
        .set_attribute("ratio", i / 4)
        .set_attribute("<job_name>", "etl")
        .build()
    )


@pytest.fixture
def timed_topic(kafka_bootstrap, new_topic):
    """Three partitions holding eight spans with record times T0 + i s, and one poison record."""
    topic = new_topic(partitions=3)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for i in range(8):
        producer.produce(topic, encode_span(_span(i)), partition=i % 3, timestamp=T0 + i * 1000)
    producer.produce(topic, b"not a span", partition=0, timestamp=T0 + 500)
    assert producer.flush(30) == 0
    return topic


def _group_ids(kafka_admin) -> set[str]:
    listed = kafka_admin.list_consumer_groups(request_timeout=30).result()
    return {group.group_id for group in listed.valid}


def test_reader_reads_every_partition_to_its_end(kafka_bootstrap, timed_topic):
    """Every span once, the poison record counted and skipped, and the iteration ends."""
    with SpanReader(timed_topic, bootstrap_servers=kafka_bootstrap) as reader:
        records = list(reader)
        stats = reader.stats()
    assert sorted(r.span.attributes["batch"] for r in records) == list(range(8))
    assert {r.partition for r in records} == {0, 1, 2}
    assert stats.bad_records == 1
    assert stats.records_consumed == 9


def test_reader_creates_no_consumer_group(kafka_bootstrap, kafka_admin, timed_topic):
    """Reading joins and commits nothing: no group appears on the cluster."""
    before = _group_ids(kafka_admin)
    with SpanReader(timed_topic, bootstrap_servers=kafka_bootstrap) as reader:
        assert len(list(reader)) == 8
    time.sleep(1.0)  # a group, had one been made, is listed at once; this only adds margin
    new = _group_ids(kafka_admin) - before
    assert not [g for g in new if g.startswith("spanstream")], new


def test_reader_reads_a_time_range(kafka_bootstrap, timed_topic):
    """start and until select the records with T0+2s <= time < T0+5s."""
    with SpanReader(
        timed_topic, bootstrap_servers=kafka_bootstrap, start=T0 + 2000, until=T0 + 5000
    ) as reader:
        batches = sorted(r.span.attributes["batch"] for r in reader)
    assert batches == [2, 3, 4]


def test_reader_follows_new_records(kafka_bootstrap, timed_topic):
    """stop_at_end=False from latest: a record written after opening is read."""
    with SpanReader(
        timed_topic, bootstrap_servers=kafka_bootstrap, start="latest", stop_at_end=False
    ) as reader:
        reader.open()
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(timed_topic, encode_span(_span(42)), partition=1)
        assert producer.flush(30) == 0
        found = []
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            found = reader.poll_batch(timeout_s=0.5)
        assert not reader.done
    assert [r.span.attributes["batch"] for r in found] == [42]


def test_reader_of_a_missing_topic_raises(kafka_bootstrap):
    """stop_at_end on a topic that does not exist: TopicNotFoundError, not a hang."""
    with (
        SpanReader("no-such-topic-here", bootstrap_servers=kafka_bootstrap) as reader,
        pytest.raises(TopicNotFoundError),
    ):
        reader.open()


def test_read_spans_returns_typed_attribute_columns(kafka_bootstrap, timed_topic):
    """read_spans: one call from a topic and a time range to a DataFrame with typed columns."""
    frame = read_spans(
        timed_topic, since=T0 + 1000, until=T0 + 7000, bootstrap_servers=kafka_bootstrap
    )
    assert isinstance(frame, pd.DataFrame)
    assert sorted(frame["attr.batch"]) == [1, 2, 3, 4, 5, 6]
    assert str(frame["attr.batch"].dtype) == "Int64"
    assert str(frame["attr.cacheHit"].dtype) == "boolean"
    assert str(frame["attr.ratio"].dtype) == "float64"
    assert set(frame["attr.<job_name>"]) == {"etl"}


def test_read_spans_takes_the_address_from_the_environment(
    kafka_bootstrap, timed_topic, monkeypatch
):
    """Without bootstrap_servers, $KAFKA_BOOTSTRAP_SERVERS is used."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    assert len(read_spans(timed_topic)) == 8


def test_read_arrow_returns_a_table(kafka_bootstrap, timed_topic):
    """read_arrow: the same rows as a pyarrow Table, attribute columns typed."""
    table = read_arrow(timed_topic, until=T0 + 3000, bootstrap_servers=kafka_bootstrap)
    assert isinstance(table, pa.Table)
    assert table.num_rows == 3
    assert table.schema.field("attr.batch").type == pa.int64()


def test_readme_read_spans_example_runs_as_written(kafka_bootstrap, new_topic, monkeypatch, capsys):
    """The README's read_spans example, with $KAFKA_BOOTSTRAP_SERVERS, prints per-job medians."""
    example = python_block("Read a time range into a table")
    topic = new_topic(partitions=2)
    now_ms = time.time_ns() // 1_000_000
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for job, duration in (("etl", 100), ("etl", 300), ("billing", 40)):
        span = checkpoint_span(
            checkpoint_id=1,
            trigger_ts_millis=now_ms - 60_000,
            latest_ack_ts_millis=now_ms - 60_000 + duration,
            full_size_bytes=1,
            checkpointed_size_bytes=1,
        ).build(extra_attributes={"<job_name>": job})
        producer.produce(topic, encode_span(span))
    assert producer.flush(30) == 0
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    exec(example.replace('"flink-traces"', repr(topic)), {})
    printed = capsys.readouterr().out
    assert re.search(r"billing\s+40", printed)
    assert re.search(r"etl\s+200", printed)


def test_follow_waits_for_a_missing_topic_and_reads_it_from_its_start(kafka_bootstrap, kafka_admin):
    """Following a topic that does not exist yet: once created, its first record is read."""
    topic = f"test-late-topic-{uuid.uuid4().hex[:8]}"
    try:
        with SpanReader(
            topic, bootstrap_servers=kafka_bootstrap, start="latest", stop_at_end=False
        ) as reader:
            assert reader.poll_batch(timeout_s=0.2) == []
            kafka_admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=60)
            _produce_one(kafka_bootstrap, topic)
            found = []
            deadline = time.monotonic() + 60
            while not found and time.monotonic() < deadline:
                found = reader.poll_batch(timeout_s=0.5)
        assert [r.span.attributes["batch"] for r in found] == [7]
    finally:
        for future in kafka_admin.delete_topics([topic]).values():
            with contextlib.suppress(Exception):  # never created, or already gone
                future.result(timeout=30)


def _produce_one(bootstrap: str, topic: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    producer.produce(topic, encode_span(_span(7)))
    assert producer.flush(30) == 0


def test_reader_ends_after_a_transaction_whose_marker_is_the_last_offset(
    kafka_bootstrap, new_topic
):
    """A committed transaction ends in a control record no reader receives: the read still ends."""
    topic = new_topic(partitions=1)
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": f"reader-{uuid.uuid4().hex}"}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(3):
        producer.produce(topic, encode_span(_span(i)))
    producer.commit_transaction(30)
    _wait_for_the_commit_marker(kafka_bootstrap, topic, end=4)
    with SpanReader(topic, bootstrap_servers=kafka_bootstrap) as reader:
        (partition,) = reader.open()
        assert partition.end == 4  # three records and the commit marker
        batches = [r.span.attributes["batch"] for r in reader]
    assert batches == [0, 1, 2]


def _wait_for_the_commit_marker(bootstrap: str, topic: str, *, end: int) -> None:
    """Wait until a read_committed reader's end (the last stable offset) reaches ``end``.

    ``commit_transaction`` returns once the coordinator has decided; it writes the markers into
    the partitions after that, so for a moment the committed records are not yet readable.
    """
    probe = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "unused", "isolation.level": "read_committed"}
    )
    try:
        deadline = time.monotonic() + 30
        while probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1] < end:
            assert time.monotonic() < deadline, "the commit marker was never written"
            time.sleep(0.05)
    finally:
        probe.close()


def test_reader_raises_when_records_stop_coming(kafka_bootstrap, new_topic):
    """Records due but none coming (its partitions paused here): BrokerError, not a hang."""
    topic = new_topic(partitions=1)
    _produce_one(kafka_bootstrap, topic)
    with SpanReader(topic, bootstrap_servers=kafka_bootstrap, idle_timeout_s=2.0) as reader:
        reader.open()
        # Stands for a broker gone quiet: the real client stops fetching the partition.
        consumer = reader._consumer
        consumer.pause(consumer.assignment())
        with pytest.raises(BrokerError, match="no record from partitions"):
            list(reader)


def test_reader_passes_over_events_on_the_topic(kafka_bootstrap, new_topic):
    """A topic carrying spans and events: the reader hands out the spans, no event is 'bad'."""
    topic = new_topic(partitions=1)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, encode_span(_span(1)))
    producer.produce(topic, encode_event(Event.builder("my.Job", "JobStatusChangeEvent").build()))
    producer.produce(topic, encode_span(_span(2)))
    assert producer.flush(30) == 0
    with SpanReader(topic, bootstrap_servers=kafka_bootstrap) as reader:
        batches = [r.span.attributes["batch"] for r in reader]
        stats = reader.stats()
    assert batches == [1, 2]
    assert stats.bad_records == 0


def test_reader_hands_out_event_records_only_when_asked(kafka_bootstrap, new_topic):
    """events=True yields the topic's events as EventRecords beside the spans; by default none."""
    topic = new_topic(partitions=1)
    event = Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
    event = event.set_attribute("newJobStatus", "RUNNING").build()
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, encode_span(_span(1)))
    producer.produce(topic, encode_event(event))
    assert producer.flush(30) == 0
    with SpanReader(topic, bootstrap_servers=kafka_bootstrap) as spans_only:
        assert [type(r).__name__ for r in spans_only] == ["SpanRecord"]
    with SpanReader(topic, bootstrap_servers=kafka_bootstrap, events=True) as both:
        records = []
        while not both.done:
            records += both.poll_records()
        stats = both.stats()
    assert [type(r).__name__ for r in records] == ["SpanRecord", "EventRecord"]
    assert records[1].event == event
    assert (stats.spans_delivered, stats.bad_records) == (1, 0)
