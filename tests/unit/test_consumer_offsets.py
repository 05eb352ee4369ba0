"""The offset tracker: only contiguous processed positions may be stored."""

from spanstream.consumer._offsets import OffsetTracker

P0 = ("t", 0)
P1 = ("t", 1)


def test_processed_record_is_ready_at_the_next_offset():
    """A processed record makes its offset + 1 ready to store."""
    tracker = OffsetTracker()
    tracker.processed(P0, 41)
    assert tracker.take_ready() == {P0: 42}
    assert tracker.take_ready() == {}


def test_unacked_batch_holds_back_later_processed_records():
    """A record processed after an unacknowledged batch waits for that batch's ack."""
    tracker = OffsetTracker()
    mark = tracker.deliver(P0, 9)
    tracker.processed(P0, 10)
    assert tracker.take_ready() == {}
    tracker.ack(P0, mark)
    assert tracker.take_ready() == {P0: 11}


def test_acking_a_later_batch_first_stores_nothing_past_the_earlier_one():
    """Acknowledging batch 2 before batch 1 stores nothing; acking batch 1 then releases both."""
    tracker = OffsetTracker()
    first = tracker.deliver(P0, 9)
    second = tracker.deliver(P0, 19)
    tracker.ack(P0, second)
    assert tracker.take_ready() == {}
    tracker.ack(P0, first)
    assert tracker.take_ready() == {P0: 20}


def test_partitions_are_independent():
    """An unacknowledged batch on one partition does not hold back another partition."""
    tracker = OffsetTracker()
    tracker.deliver(P0, 5)
    tracker.processed(P1, 7)
    assert tracker.take_ready() == {P1: 8}


def test_ack_all_releases_every_delivered_range():
    """ack_all (an explicit commit) makes the last delivered position of each partition ready."""
    tracker = OffsetTracker()
    tracker.deliver(P0, 5)
    tracker.deliver(P0, 9)
    tracker.deliver(P1, 3)
    tracker.ack_all()
    assert tracker.take_ready() == {P0: 10, P1: 4}
    assert tracker.pending_count() == 0


def test_forget_drops_positions_and_later_acks_are_harmless():
    """A revoked partition's positions are dropped; acking its old batch stores nothing."""
    tracker = OffsetTracker()
    mark = tracker.deliver(P0, 5)
    tracker.processed(P1, 1)
    tracker.forget({P0, P1})
    tracker.ack(P0, mark)
    assert tracker.take_ready() == {}
