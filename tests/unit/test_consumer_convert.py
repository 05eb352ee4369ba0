"""The consumer's C conversion loop gives exactly what the Python loop (the reference) gives.

Both run over the same confluent-kafka Message objects (built in memory: no broker needed),
mixing plain span messages with every case the C loop hands back to Python: Kafka error
events, bad records, a value in another framing, a missing value, duplicates (counted, or
dropped), a full duplicate-window generation, and objects that are not Messages.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, Message

from spanstream.consumer import SpanConsumer, SpanRecord
from spanstream.consumer import _record_conversion as consumer_module
from spanstream.schemas import Span, encode_span

needs_c = pytest.mark.skipif(
    consumer_module._FAST_CONVERT is None, reason="the C conversion loop is not built"
)

NOWHERE = "127.0.0.1:9"  # nothing listens: the consumer is never used to fetch here


def _span(i: int) -> Span:
    return (
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_start_ts_millis(1_700_000_000_000 + i)
        .set_attribute("checkpointId", i)
        .set_attribute("checkpointStatus", "COMPLETED")
        .build()
    )


def _message(value: bytes | None, offset: int, **extra: Any) -> Message:
    settings: dict[str, Any] = {
        "topic": "spans",
        "partition": offset % 3,
        "offset": offset,
        "key": b"job-%d" % (offset % 2),
        "value": value,
        "headers": [("content-type", b"avro"), ("n", b"%d" % offset)] if offset % 4 else None,
        "timestamp": (1, 1_700_000_000_000 + offset) if offset % 5 else (0, -1),
        "error": None,
    }
    settings.update(extra)
    return Message(**settings)


def _messages() -> list[Any]:
    spans = [_span(i) for i in range(40)]
    values = [encode_span(span) for span in spans]
    messages: list[Any] = [_message(values[i], i) for i in range(10)]
    messages.append(_message(None, 10, error=KafkaError(KafkaError._PARTITION_EOF)))
    messages.append(_message(b"\xc3\x01 not a span at all", 11))  # right marker, bad body
    messages.append(_message(b"plain text", 12))  # no marker
    messages.append(_message(None, 13))  # a tombstone
    messages.append(_message(values[3], 14))  # a duplicate of offset 3
    messages.extend(_message(values[i], i) for i in range(15, 40))
    messages.append(_message(values[20], 40))  # a duplicate, later
    return messages


@pytest.fixture
def make_consumer() -> Iterator[Any]:
    made: list[SpanConsumer] = []

    def make(**kwargs: Any) -> SpanConsumer:
        consumer = SpanConsumer("spans", bootstrap_servers=NOWHERE, group_id="g", **kwargs)
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        consumer.close()


_CONVERTED_IN_C: list[int] = []


def _counting(convert: Any) -> Any:
    def count(messages: list[Any], start: int, *args: Any) -> int:
        upto = int(convert(messages, start, *args))
        _CONVERTED_IN_C.append(upto - start)
        return upto

    return count


def _convert(consumer: SpanConsumer, messages: list[Any], fast: bool) -> tuple[object, ...]:
    previous = consumer_module._FAST_CONVERT
    consumer_module._FAST_CONVERT = _counting(previous) if fast else None  # type: ignore[misc]
    try:
        consumer._queue.raw = list(messages)
        items: list[object] = []
        while consumer._queue.raw:
            consumer._feed.convert_raw(chunk=7)  # chunks end in the middle of the special cases
            items.extend(consumer._queue.items)
    finally:
        consumer_module._FAST_CONVERT = previous  # type: ignore[misc]
    counters = consumer._counters
    return (
        items,
        counters.records_consumed,
        counters.duplicate_spans,
        counters.duplicates_dropped,
        dict(counters.bad_records_by_reason),
        counters.kafka_errors,
        sorted(consumer._converter.window.current),
        sorted(consumer._converter.window.previous),
    )


@needs_c
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"drop_duplicates": True},
        {"duplicate_window": 4},  # generations rotate several times
        {"duplicate_window": 0},  # no window
    ],
)
def test_the_c_loop_converts_exactly_as_the_python_loop(make_consumer, settings):
    messages = _messages()
    _CONVERTED_IN_C.clear()
    fast = _convert(make_consumer(**settings), messages, fast=True)
    reference = _convert(make_consumer(**settings), messages, fast=False)
    assert fast == reference
    assert sum(_CONVERTED_IN_C) >= 25  # the plain messages went through C
    records = [item for item in fast[0] if type(item) is SpanRecord]
    assert len(records) >= 30
    assert [r.headers for r in records] == [
        tuple(messages[r.offset].headers() or ()) for r in records
    ]


@needs_c
def test_objects_that_are_not_messages_go_to_the_python_loop(make_consumer):
    class FakeMessage:
        def __init__(self, message: Message) -> None:
            self._message = message

        def __getattr__(self, name: str) -> Any:
            return getattr(self._message, name)

    messages: list[Any] = [FakeMessage(m) for m in _messages()]
    _CONVERTED_IN_C.clear()
    fast = _convert(make_consumer(), messages, fast=True)
    reference = _convert(make_consumer(), messages, fast=False)
    assert fast == reference
    assert sum(_CONVERTED_IN_C) == 0


@needs_c
def test_records_from_the_c_loop_are_left_out_of_the_cyclic_gc(make_consumer):
    items, *_ = _convert(make_consumer(), _messages()[:3], fast=True)
    assert items
    assert not any(gc.is_tracked(item) for item in items)


def test_ci_builds_and_uses_the_c_loop():
    """In CI the extension must build and be in use: a broken build cannot fall back silently."""
    import os

    if os.environ.get("CI", "").lower() != "true" or os.environ.get("SPANSTREAM_NO_SPEEDUPS"):
        pytest.skip("only asserted in CI (CI=true), where the build must succeed")
    assert consumer_module._FAST_CONVERT is not None


def _tree_messages() -> tuple[list[Any], list[Span]]:
    """Checkpoint trees, one of them with a corrupt child (a boolean byte of 2) in the middle."""
    trees = []
    for i in range(6):
        builder = Span.builder("org.apache.flink.Tracker", "Checkpoint").set_attribute("id", i)
        for task in range(8):
            child = Span.builder("org.apache.flink.Tracker", "Checkpoint_Task")
            builder.add_child(child.set_attribute("task", task).set_attribute("flag", True))
        trees.append(builder.build())
    values = [encode_span(tree) for tree in trees]
    flag = values[3].rindex(b"\x08flag\x06\x01")
    values[3] = values[3][: flag + 6] + b"\x02" + values[3][flag + 7 :]
    return [_message(value, i) for i, value in enumerate(values)], trees


@needs_c
def test_trees_with_a_corrupt_child_are_bad_records_when_converted(make_consumer):
    """The C loop converts trees; one with a corrupt child is a counted bad record at once."""
    messages, trees = _tree_messages()
    _CONVERTED_IN_C.clear()
    fast = _convert(make_consumer(), messages, fast=True)
    assert fast == _convert(make_consumer(), messages, fast=False)
    records = [item for item in fast[0] if type(item) is SpanRecord]
    assert [record.span for record in records] == trees[:3] + trees[4:]
    assert fast[4] == {"malformed": 1}
    assert sum(_CONVERTED_IN_C) == 5
