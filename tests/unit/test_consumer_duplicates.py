"""The duplicate window counts redelivered span ids within a bounded memory."""

import pytest

from spanstream.consumer._duplicates import DuplicateWindow


def test_second_sighting_is_a_duplicate():
    """An id seen before is reported as seen."""
    window = DuplicateWindow(size=10)
    assert window.seen(b"a") is False
    assert window.seen(b"a") is True


def test_window_remembers_at_least_size_ids():
    """The last `size` ids are always remembered, however many came before."""
    window = DuplicateWindow(size=3)
    ids = [bytes([i]) for i in range(20)]
    for span_id in ids:
        window.seen(span_id)
    assert all(window.seen(span_id) for span_id in ids[-3:])


def test_window_memory_is_bounded():
    """At most 2 * size ids are held; the oldest are forgotten."""
    window = DuplicateWindow(size=2)
    for span_id in (b"a", b"b", b"c", b"d", b"e"):
        window.seen(span_id)
    assert len(window) <= 4
    assert window.seen(b"a") is False


def test_zero_size_remembers_nothing():
    """A zero-size window never reports a duplicate."""
    window = DuplicateWindow(size=0)
    window.seen(b"a")
    assert window.seen(b"a") is False


def test_clear_forgets_everything():
    """After clear() (a deliberate replay) nothing counts as a duplicate."""
    window = DuplicateWindow(size=5)
    window.seen(b"a")
    window.clear()
    assert window.seen(b"a") is False


def test_negative_size_is_rejected():
    """A negative size is a ValueError."""
    with pytest.raises(ValueError, match="size"):
        DuplicateWindow(size=-1)
