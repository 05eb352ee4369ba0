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
    """The conversion loop's field-by-field construction gives an equal, still frozen record."""
    from spanstream.consumer._records import RECORD_SETTERS

    expected = _record(3)
    built = object.__new__(SpanRecord)
    for setter, field in zip(RECORD_SETTERS, dataclasses.fields(SpanRecord), strict=True):
        setter(built, getattr(expected, field.name))
    assert built == expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.topic = "other"  # type: ignore[misc]


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
