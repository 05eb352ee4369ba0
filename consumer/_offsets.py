"""Which offsets the application is done with, per partition, in order.

The consumer never lets librdkafka store an offset by itself (``enable.auto.offset.store`` is
off). A record is *processed* when the application moved past it in iteration, or acknowledged
the batch it came in; bad records are processed once handled (skipped, dead-lettered, or raised
and moved past). Only the highest *contiguous* processed position of a partition may be stored:
if batch 1 is still unacknowledged when batch 2 is acknowledged, nothing past batch 1 is stored,
or a crash would lose batch 1.
"""

from __future__ import annotations

from collections import deque

__all__ = ["OffsetTracker", "PendingMark", "TopicPartitionKey"]

TopicPartitionKey = tuple[str, int]


class PendingMark:
    """A delivered range of one partition that ends before ``next_offset``; ``done`` once acked."""

    __slots__ = ("done", "next_offset")

    def __init__(self, next_offset: int, *, done: bool) -> None:
        self.next_offset = next_offset
        self.done = done


class OffsetTracker:
    """Per partition: the next offset to store, and the delivered ranges still awaiting an ack."""

    __slots__ = ("_pending", "_ready")

    def __init__(self) -> None:
        # Positions that may be stored now (the next offset to read after the processed ones).
        self._ready: dict[TopicPartitionKey, int] = {}
        # Delivered-but-unacknowledged ranges, in delivery order; a done mark behind an
        # undone one waits for it.
        self._pending: dict[TopicPartitionKey, deque[PendingMark]] = {}

    def processed(self, key: TopicPartitionKey, offset: int) -> None:
        """Record that the record at ``offset`` (and all before it that were delivered) is done."""
        queue = self._pending.get(key)
        if queue:
            queue.append(PendingMark(offset + 1, done=True))
        else:
            self._ready[key] = offset + 1

    def deliver(self, key: TopicPartitionKey, last_offset: int) -> PendingMark:
        """Register a delivered range ending at ``last_offset``; ack it with :meth:`ack`."""
        mark = PendingMark(last_offset + 1, done=False)
        self._pending.setdefault(key, deque()).append(mark)
        return mark

    def ack(self, key: TopicPartitionKey, mark: PendingMark) -> None:
        """Mark a delivered range done and release every contiguous done range before it."""
        mark.done = True
        queue = self._pending.get(key)
        if not queue:
            return  # the partition was revoked or sought meanwhile
        while queue and queue[0].done:
            self._ready[key] = queue.popleft().next_offset
        if not queue:
            del self._pending[key]

    def ack_all(self) -> None:
        """Mark every delivered range done (the application committed everything)."""
        for key, queue in list(self._pending.items()):
            if queue:
                self._ready[key] = queue[-1].next_offset
                for mark in queue:
                    mark.done = True
            del self._pending[key]

    def take_ready(self) -> dict[TopicPartitionKey, int]:
        """Return and forget the positions that may be stored now."""
        ready = self._ready
        self._ready = {}
        return ready

    def peek_ready(self) -> dict[TopicPartitionKey, int]:
        """The positions that may be stored now, without forgetting them."""
        return dict(self._ready)

    def forget(self, keys: set[TopicPartitionKey]) -> None:
        """Drop every position of these partitions (revoked, lost, or sought elsewhere)."""
        for key in keys:
            self._ready.pop(key, None)
            queue = self._pending.pop(key, None)
            if queue:
                for mark in queue:
                    mark.done = True

    def pending_count(self) -> int:
        """How many delivered ranges await an acknowledgement."""
        return sum(len(queue) for queue in self._pending.values())
