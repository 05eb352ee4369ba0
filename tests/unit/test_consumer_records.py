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


def test_a_reader_that_loses_the_race_for_the_headers_returns_them():
    """Reader A finds no headers yet; before it looks at the message, reader B takes them (and
    lets the message go): A returns B's headers, not an empty tuple. The interleaving is forced
    with a line tracer, so the test does not depend on thread timing."""
    import inspect
    import sys

    record = _lazy_record(_Message([("h", b"v")]), _record(1))
    getter = SpanRecord.headers.fget
    assert getter is not None
    lines, first = inspect.getsourcelines(getter)
    race_line = first + next(n for n, line in enumerate(lines) if "= self._message" in line)
    taken_by_b: list[object] = []

    def trace(frame, event, arg):  # type: ignore[no-untyped-def]
        if frame.f_code is not getter.__code__:
            return None

        def line(frame, event, arg):  # type: ignore[no-untyped-def]
            if event == "line" and frame.f_lineno == race_line and not taken_by_b:
                sys.settrace(None)
                taken_by_b.append(record.headers)  # reader B, all the way through
            return line

        return line

    sys.settrace(trace)
    try:
        taken_by_a = record.headers  # reader A
    finally:
        sys.settrace(None)
    assert taken_by_b == [(("h", b"v"),)]
    assert taken_by_a == (("h", b"v"),)
