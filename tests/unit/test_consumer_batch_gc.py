"""poll_batch's conversion path over in-memory messages: exact records, and the cyclic GC paused
while a batch is gathered from what is already fetched, enabled for blocking waits, and always
restored (no timing is measured: collections are counted)."""

import gc
from collections.abc import Iterator

import pytest
from confluent_kafka import Message

from spanstream.consumer import SpanConsumer, SpanRecord
from spanstream.schemas import DecodeError, Span, encode_span

NOWHERE = "127.0.0.1:9"  # nothing listens: the real client is replaced before any fetch
TOPIC = "spans"


class _FakeClient:
    """Stands in for confluent-kafka's Consumer: hands out prepared messages."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.gc_enabled_in_waits: list[bool] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        taken, self.messages = self.messages[:num_messages], self.messages[num_messages:]
        if timeout > 0:
            self.gc_enabled_in_waits.append(gc.isenabled())
        return taken

    def store_offsets(self, offsets: object) -> None:
        pass

    def commit(self, asynchronous: bool) -> list[object]:
        return []

    def close(self) -> None:
        pass


def _span(i: int) -> Span:
    return (
        Span.builder("org.example.Scope", "Checkpoint")
        .set_start_ts_millis(1_700_000_000_000 + i)
        .set_end_ts_millis(1_700_000_000_100 + i)
        .set_attribute("checkpointId", i)
        .build()
    )


def _messages(spans: list[Span], *, poison_at: int | None = None) -> list[Message]:
    messages = []
    for i, span in enumerate(spans):
        value = b"garbage" if i == poison_at else encode_span(span)
        messages.append(
            Message(
                topic=TOPIC,
                partition=i % 2,
                offset=i // 2,
                key=b"key-%d" % i,
                value=value,
                headers=[("h", b"%d" % i)] if i % 3 == 0 else None,
                timestamp=(1, 1_700_000_000_000 + i),
            )
        )
    return messages


@pytest.fixture
def consumer_of() -> Iterator:
    made: list[SpanConsumer] = []

    def make(messages: list[Message], **kwargs: object) -> tuple[SpanConsumer, _FakeClient]:
        consumer = SpanConsumer(TOPIC, bootstrap_servers=NOWHERE, group_id="g", **kwargs)
        consumer._consumer.close()
        fake = _FakeClient(messages)
        consumer._consumer = fake  # type: ignore[assignment]
        consumer._partitions.client = fake  # type: ignore[assignment]
        consumer._assigned.update({(TOPIC, 0), (TOPIC, 1)})
        made.append(consumer)
        return consumer, fake

    yield make
    for consumer in made:
        consumer.close()


def _expected(spans: list[Span], indexes: range) -> tuple[SpanRecord, ...]:
    return tuple(
        SpanRecord(
            spans[i],
            TOPIC,
            i % 2,
            i // 2,
            b"key-%d" % i,
            (("h", b"%d" % i),) if i % 3 == 0 else (),
            1_700_000_000_000 + i,
        )
        for i in indexes
    )


def test_batches_hold_exactly_the_records_in_order(consumer_of):
    spans = [_span(i) for i in range(2500)]
    consumer, _ = consumer_of(_messages(spans), fetch_batch_size=300)
    first = consumer.poll_batch(max_spans=1000, timeout_s=0.01)
    second = consumer.poll_batch(max_spans=2000, timeout_s=0.01)
    assert first.records == _expected(spans, range(1000))
    assert second.records == _expected(spans, range(1000, 2500))


def test_no_collection_while_a_batch_is_gathered_from_fetched_messages(consumer_of):
    """The guard of the design: building 3,000 records (about 9,000 tracked objects, a dozen
    young collections if the GC ran) triggers none; at most the one young collection once the
    GC is enabled again at the end."""
    spans = [_span(i) for i in range(3000)]
    consumer, _ = consumer_of(_messages(spans), fetch_batch_size=1000)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.collect()
    gc.callbacks.append(count)
    try:
        batch = consumer.poll_batch(max_spans=3000, timeout_s=5.0)
    finally:
        gc.callbacks.remove(count)
    assert len(batch) == 3000
    assert collections in ([], [0])
    assert gc.isenabled()


def test_blocking_waits_run_with_the_gc_enabled(consumer_of):
    consumer, fake = consumer_of(_messages([_span(i) for i in range(10)]))
    batch = consumer.poll_batch(max_spans=100, timeout_s=0.05)
    assert len(batch) == 10
    assert fake.gc_enabled_in_waits
    assert all(fake.gc_enabled_in_waits)
    assert gc.isenabled()


def test_a_disabled_gc_stays_disabled(consumer_of):
    consumer, fake = consumer_of(_messages([_span(i) for i in range(10)]))
    gc.disable()
    try:
        assert len(consumer.poll_batch(max_spans=100, timeout_s=0.05)) == 10
        assert not gc.isenabled()
        assert fake.gc_enabled_in_waits
        assert not any(fake.gc_enabled_in_waits)
    finally:
        gc.enable()


def test_the_gc_is_restored_when_a_bad_record_is_raised(consumer_of):
    spans = [_span(i) for i in range(10)]
    consumer, _ = consumer_of(_messages(spans, poison_at=0), bad_records="raise")
    with pytest.raises(DecodeError):
        consumer.poll_batch(max_spans=100, timeout_s=0.05)
    assert gc.isenabled()
    batch = consumer.poll_batch(max_spans=100, timeout_s=0.05)
    assert batch.records == _expected(spans, range(1, 10))
