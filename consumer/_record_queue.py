"""The consumer's record queue: converted records and markers, their cursors, one hand-out path.

Consumed messages wait here in two forms: ``raw`` (consumed, not converted yet) and ``items``
(converted: records, and markers for the messages that are not handed out as records). Three
cursors run over ``items``, always ``settled <= done_upto <= pos``:

* ``pos``: the next item to hand out;
* ``done_upto``: items before it are processed (the application moved past them);
* ``settled``: items before it were reported as processed (``processed``, to the offset
  tracker).

A marker is one of :class:`Handled` (skipped, dead-lettered, or a dropped duplicate: nothing to
hand out), :class:`Raise` (a bad record under the ``raise`` policy, raised at its place) and
:class:`Retry` (dead-lettering failed: raised, then the message is converted again). Every
marker is handled here, in :meth:`RecordQueue._raise_marker` and the two take methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from confluent_kafka import Message

from spanstream.consumer._errors import DeadLetterError
from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._offsets import TopicPartitionKey
from spanstream.consumer._records import SpanRecord
from spanstream.schemas import DecodeError

__all__ = ["Handled", "Item", "Raise", "RecordQueue", "Retry"]

_NO_LIMIT: Final = 1 << 62


@dataclass(frozen=True, slots=True)
class Handled:
    """A record the consumer handled itself: skipped, dead-lettered, or a dropped duplicate."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Raise:
    """A bad record under the ``raise`` policy, raised at its place in the stream."""

    topic: str
    partition: int
    offset: int
    error: DecodeError


@dataclass(frozen=True, slots=True)
class Retry:
    """Dead-lettering the next raw message failed: raise this, then convert it again."""

    error: DeadLetterError


Item = SpanRecord | EventRecord | Handled | Raise | Retry
"""One converted message: a record to hand out, or a marker."""


class RecordQueue:
    """Consumed messages on their way to the application (see the module documentation).

    Args:
        assigned: the consumer's assigned partitions (the same set, kept up to date by it).
        processed: told the last processed offset of each partition as items settle.
    """

    __slots__ = (
        "_assigned",
        "_processed",
        "done_upto",
        "events_taken",
        "items",
        "markers",
        "pos",
        "raw",
        "settled",
    )

    def __init__(
        self,
        assigned: set[TopicPartitionKey],
        processed: Callable[[Mapping[TopicPartitionKey, int]], None],
    ) -> None:
        self._assigned = assigned
        self._processed = processed
        self.raw: list[Message] = []  # consumed, not converted yet
        self.items: list[Item] = []
        self.pos = 0
        self.done_upto = 0
        self.settled = 0
        self.markers = 0  # how many of the items are markers
        self.events_taken = 0  # event records taken into batches, ever (see take_batch)

    def pending(self) -> bool:
        """Whether anything consumed waits to be handed out (converted or not)."""
        return self.pos < len(self.items) or bool(self.raw)

    def load(self, items: list[Item], markers: int) -> None:
        """Replace the (settled) items with newly converted ones."""
        self.items = items
        self.pos = self.done_upto = self.settled = 0
        self.markers = markers

    def take_one(self) -> SpanRecord | EventRecord | None:
        """Hand out the next record (the one handed out before counts as processed from now on).

        Returns None once the items are used up (convert or fetch more then).

        Raises:
            DecodeError: a bad record under the ``raise`` policy (processed once moved past).
            DeadLetterError: dead-lettering failed; the next call converts the message again.
        """
        items = self.items
        pos = self.pos
        while pos < len(items):
            item = items[pos]
            if type(item) is SpanRecord or type(item) is EventRecord:
                self.done_upto = pos
                self.pos = pos + 1
                return item
            if type(item) is Handled:
                pos += 1
                continue
            self._raise_marker(item, pos)
        # Everything handed out so far has been moved past.
        self.pos = self.done_upto = pos
        return None

    def take_batch(
        self,
        limit: int,
        records: list[SpanRecord | EventRecord],
        last: dict[TopicPartitionKey, int],
    ) -> bool:
        """Take up to ``limit`` items into a batch's ``records``; True when the batch must end.

        ``last`` gets the last offset taken of each partition (the batch acknowledges those).
        Event records taken are counted in ``events_taken`` (they are markers in the count:
        the run of records only is all spans).
        A marker to raise ends a batch that holds records; in an empty batch it is raised
        (``last`` reported as processed first).
        """
        items = self.items
        pos = self.pos
        end = min(len(items), pos + limit)
        if not self.markers:  # the common case: records only
            run: list[Any] = items[pos:end]
            records.extend(run)
            last.update(self._last_offsets(run))
            self.pos = self.done_upto = self.settled = end
            return False
        while pos < end:
            item = items[pos]
            if type(item) is SpanRecord or type(item) is EventRecord or type(item) is Handled:
                if type(item) is not Handled:
                    records.append(item)  # type: ignore[arg-type]  # told apart just above
                    self.events_taken += type(item) is EventRecord
                last[(item.topic, item.partition)] = item.offset
                pos += 1
                continue
            self.pos = self.done_upto = self.settled = pos
            if records:
                return True  # the batch ends before a record to raise; the next call raises
            self._processed(last)
            last.clear()
            self._raise_marker(item, pos)
        self.pos = self.done_upto = self.settled = pos
        return False

    def _raise_marker(self, item: Item, pos: int) -> None:
        """Raise the error of the ``Raise`` or ``Retry`` marker at ``pos``."""
        if type(item) is Raise:
            self.done_upto = pos  # processed once the application moves past it
            self.pos = pos + 1
            raise item.error
        assert type(item) is Retry
        self.items.pop()  # the record it stands for is converted (and dead-lettered) again
        self.done_upto = self.pos = pos
        raise item.error

    def _last_offsets(self, run: list[SpanRecord]) -> dict[TopicPartitionKey, int]:
        """The last offset of each partition in ``run`` (records only, in offset order)."""
        found: dict[TopicPartitionKey, int] = {}
        partitions = len(self._assigned) or _NO_LIMIT
        for record in reversed(run):
            key = (record.topic, record.partition)
            if key not in found:
                found[key] = record.offset
                if len(found) >= partitions:
                    break
        return found

    def release(self) -> None:
        """Count everything handed out so far as processed (the application moved on)."""
        self.done_upto = self.pos

    def settle(self) -> None:
        """Report the last processed offset of each partition among items not settled yet."""
        start, end = self.settled, self.done_upto
        if end <= start:
            return
        self.settled = end
        processed: dict[TopicPartitionKey, int] = {}
        partitions = len(self._assigned) or _NO_LIMIT
        for item in reversed(self.items[start:end]):
            if isinstance(item, Retry):
                continue
            key = (item.topic, item.partition)
            if key not in processed:
                processed[key] = item.offset
                if len(processed) >= partitions:
                    break
        self._processed(processed)

    def drop(self, keys: set[TopicPartitionKey]) -> None:
        """Forget converted and raw messages of these partitions that were not handed out."""
        self.settle()
        rest: list[Item] = [
            item
            for item in self.items[self.pos :]
            # A retry marker goes too: the raw message it stands for is filtered below.
            if not isinstance(item, Retry) and (item.topic, item.partition) not in keys
        ]
        self.load(rest, sum(1 for item in rest if type(item) is not SpanRecord))
        self.raw = [m for m in self.raw if (m.topic(), m.partition()) not in keys]

    def clear(self) -> None:
        """Forget everything (the consumer is closing; settle first)."""
        self.load([], 0)
        self.raw = []
