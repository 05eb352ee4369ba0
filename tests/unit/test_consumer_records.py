"""SpanRecord and SpanBatch: immutable records, idempotent batch acknowledgement."""

import dataclasses

import pytest

from spanstream.consumer import SpanBatch, SpanRecord
from spanstream.consumer._records import record_headers
from spanstream.schemas import Span


def _record(offset: int = 0) -> SpanRecord:
    span = Span.builder("s", "n").set_start_ts_millis(1).build()
    return SpanRecord(span, "t", 0, offset, b"k", (("h", b"v"),), 123)


def test_record_is_frozen():
    """A SpanRecord cannot be changed."""
    record = _record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.offset = 5  # type: ignore[misc]


def test_headers_are_normalised_to_a_tuple_of_bytes():
    """Headers become a tuple of (name, bytes | None), from a list or a dict, str encoded."""
    assert record_headers([("a", b"1"), ("b", None)]) == (("a", b"1"), ("b", None))
    assert record_headers({"a": "x"}) == (("a", b"x"),)
    assert record_headers(None) == ()


def test_batch_ack_is_idempotent():
    """Acknowledging a batch twice calls the consumer back once."""
    calls = []
    batch = SpanBatch((_record(0), _record(1)), lambda: calls.append(1))
    batch.ack()
    batch.ack()
    assert calls == [1]
    assert batch.acked


def test_batch_is_a_sequence_of_records():
    """A batch has a length, iterates and indexes its records, and lists their spans."""
    records = (_record(0), _record(1))
    batch = SpanBatch(records, lambda: None)
    assert len(batch) == 2
    assert list(batch) == list(records)
    assert batch[1] is records[1]
    assert batch.spans == (records[0].span, records[1].span)


def test_record_built_by_slot_setters_equals_the_constructed_one():
    """The conversion loop's slot-by-slot construction gives an equal, still frozen record."""
    from spanstream.consumer._records import RECORD_FIELDS, RECORD_SETTERS

    expected = _record(3)
    built = object.__new__(SpanRecord)
    for setter, name in zip(RECORD_SETTERS, RECORD_FIELDS, strict=True):
        setter(built, object.__getattribute__(expected, name))
    assert built == expected
    assert hash(built) == hash(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.topic = "other"  # type: ignore[misc]


class _Message:
    """What a record reads its headers from: confluent-kafka's Message.headers()."""

    def __init__(self, headers: object) -> None:
        self.calls = 0
        self._headers = headers

    def headers(self) -> object:
        self.calls += 1
        return self._headers


def _lazy_record(message: _Message, expected: SpanRecord) -> SpanRecord:
    from spanstream.consumer._records import RECORD_FIELDS, RECORD_SETTERS

    built = object.__new__(SpanRecord)
    for setter, name in zip(RECORD_SETTERS, RECORD_FIELDS, strict=True):
        value = object.__getattribute__(expected, name)
        setter(built, {"_headers": None, "_message": message}.get(name, value))
    return built


def test_a_consumed_record_reads_its_headers_from_the_message_once():
    """Headers are taken from the Kafka message when first asked for, then kept (and the
    message let go); the record equals one built with the same headers."""
    message = _Message([("h", b"v")])
    expected = _record(3)
    record = _lazy_record(message, expected)
    assert message.calls == 0
    assert record.headers == (("h", b"v"),)
    assert record.headers == (("h", b"v"),)
    assert message.calls == 1
    assert object.__getattribute__(record, "_message") is None
    assert record == expected
    assert hash(record) == hash(expected)
    assert "headers=(('h', b'v'),)" in repr(record)


def test_a_message_without_headers_gives_an_empty_tuple():
    assert _lazy_record(_Message(None), _record()).headers == ()


def test_consumer_package_needs_neither_the_producer_nor_the_analytics_extra():
    """Importing spanstream.consumer pulls in no producer code, pyarrow or pandas."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "sys.modules['pandas'] = None\n"
        "import spanstream.consumer\n"
        "assert 'spanstream.producer' not in sys.modules, 'producer imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_record_matches_by_position_as_a_dataclass_did():
    match _record(3):
        case SpanRecord(_, "t", 0, 3, b"k", headers, 123):
            assert headers == (("h", b"v"),)
        case _:
            pytest.fail("no match")


def test_headers_read_by_two_threads_at_once_are_the_same():
    """A reader that finds the headers taken meanwhile returns them, not an empty tuple."""
    import threading

    def read(record: SpanRecord, seen: list[object]) -> None:
        seen.append(record.headers)

    for _ in range(200):
        record = _lazy_record(_Message([("h", b"v")]), _record(1))
        seen: list[object] = []
        threads = [threading.Thread(target=read, args=(record, seen)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == [(("h", b"v"),)] * 4
