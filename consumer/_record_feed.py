"""The consumer's poll loop: librdkafka's messages into the record queue, and records out of it.

:class:`RecordFeed` takes messages from librdkafka (``consume()``), has them converted into the
:class:`~spanstream.consumer._record_queue.RecordQueue` (``RecordConverter``), and hands records
out: one at a time for iteration, or gathered into a batch. It stores processed offsets before
each fetch and watches for brokers that stopped answering. :class:`SpanConsumer` is its one
user; the record queue keeps the cursors and markers, the partitions their offsets.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Final

from confluent_kafka import KafkaException

from spanstream.consumer._broker_health import BrokerWatch, ErrorLog
from spanstream.consumer._errors import ConsumerClosedError
from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._offsets import TopicPartitionKey
from spanstream.consumer._partitions import Partitions
from spanstream.consumer._record_conversion import RecordConverter
from spanstream.consumer._record_queue import RecordQueue
from spanstream.consumer._records import SpanRecord
from spanstream.schemas import BrokerError

__all__ = ["RecordFeed"]

_CONVERT_CHUNK: Final = 64


@dataclass(slots=True, eq=False)
class RecordFeed:
    """Fetches, converts and hands out the records of one consumer (one thread).

    Attributes:
        partitions: the member's partitions (their client fetches; their queue holds records).
        converter: turns messages into the queue's items.
        errors: told that a broker answered when messages arrive.
        watch: raises BrokerError when no broker has answered for too long.
        fetch_batch_size: messages taken from librdkafka per ``consume()`` call.
        poll_interval_s: the longest a single wait lasts.
        closed: set by the consumer's close(): the feed hands out nothing more.
        spans_delivered: span records handed out (iteration and batches).
        events_delivered: event records handed out.
    """

    partitions: Partitions
    converter: RecordConverter
    errors: ErrorLog
    watch: BrokerWatch
    fetch_batch_size: int
    poll_interval_s: float
    closed: bool = False
    spans_delivered: int = 0
    events_delivered: int = 0
    queue: RecordQueue = field(init=False)

    def __post_init__(self) -> None:
        self.queue = self.partitions.queue

    def next_record(self, idle_timeout_s: float | None) -> SpanRecord | EventRecord | None:
        """Hand out the next record, waiting up to ``idle_timeout_s`` (None: until closed).

        The one hand-out path of iteration: the record handed out before counts as processed
        from now on.
        """
        queue = self.queue
        deadline: float | None = None
        while True:
            if self.closed:  # close() may have run in a callback or another thread
                return None
            record = queue.take_one()
            if record is not None:
                if type(record) is SpanRecord:
                    self.spans_delivered += 1
                else:
                    self.events_delivered += 1
                return record
            if queue.raw:
                self.convert_raw()
                continue
            if idle_timeout_s is None:
                self.fill(self.poll_interval_s)
                continue
            if deadline is None:
                deadline = time.monotonic() + idle_timeout_s
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.fill(remaining)

    def batch(
        self, max_spans: int, timeout_s: float
    ) -> tuple[list[SpanRecord | EventRecord], dict[TopicPartitionKey, int]]:
        """Gather up to ``max_spans`` records within ``timeout_s``; with each partition's last.

        The cyclic GC is paused while the batch is built (see SpanConsumer.poll_batch).
        """
        queue = self.queue
        queue.release()
        queue.settle()
        deadline = time.monotonic() + timeout_s
        records: list[SpanRecord | EventRecord] = []
        last: dict[TopicPartitionKey, int] = {}
        # Why the GC pauses: the batch's records live on together; collected as they are built,
        # they would be traversed by every young collection and promoted to the oldest
        # generation, whose full collections then cost more than decoding (about 2 us a span).
        # So the cyclic GC waits while the batch is gathered from what librdkafka already holds,
        # and runs during the blocking waits and after: one young collection for the batch,
        # which dies young. (Iteration instead converts a few messages at a time: convert_raw.)
        events_before = queue.events_taken
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._gather(max_spans, deadline, records, last, gc_was_enabled=gc_was_enabled)
        finally:
            if gc_was_enabled:
                gc.enable()
        events = queue.events_taken - events_before
        self.events_delivered += events
        self.spans_delivered += len(records) - events
        return records, last

    def _gather(
        self,
        max_spans: int,
        deadline: float,
        records: list[SpanRecord | EventRecord],
        last: dict[TopicPartitionKey, int],
        *,
        gc_was_enabled: bool,
    ) -> None:
        """Take up to ``max_spans`` records into ``records`` (the batch's loop).

        Called with the cyclic GC disabled; it is enabled (if it was) for blocking waits only.
        """
        queue = self.queue
        while len(records) < max_spans:
            if queue.pos >= len(queue.items):
                if self.closed:
                    break
                if queue.raw:
                    self.convert_raw(len(queue.raw))
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # First what librdkafka already holds, without waiting.
                self.fill(0.0, chunk=self.fetch_batch_size)
                if queue.pending():
                    continue
                if gc_was_enabled:
                    gc.enable()
                try:
                    self.fill(remaining, chunk=self.fetch_batch_size)
                finally:
                    gc.disable()
                continue
            if queue.take_batch(max_spans - len(records), records, last):
                break

    def wait_for_assignment(self, timeout_s: float) -> None:
        """Poll until a partition is assigned or records wait (or the timeout)."""
        queue = self.queue
        queue.release()
        deadline = time.monotonic() + timeout_s
        while not self.partitions.assigned and not queue.pending():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.fill(remaining)

    def convert_raw(self, chunk: int = _CONVERT_CHUNK) -> None:
        """Convert the next ``chunk`` consumed messages into the queue's items.

        A few messages at a time: records alive only briefly are reclaimed by reference
        counting before the cyclic GC sees them (a batch converts all at once, with the GC
        paused instead: see :meth:`batch`).
        """
        queue = self.queue
        queue.settle()
        raw = queue.raw
        queue.raw = raw[chunk:]
        items, markers, left = self.converter.convert(raw[:chunk])
        if left:  # dead-lettering failed: those are converted again
            queue.raw = left + queue.raw
        queue.load(items, markers)

    def fill(self, timeout_s: float, *, chunk: int = _CONVERT_CHUNK) -> None:
        """Store processed offsets, take the next messages from librdkafka, convert them."""
        self.queue.settle()
        partitions = self.partitions
        partitions.store_ready()
        consume = partitions.client.consume
        batch_size = self.fetch_batch_size
        wait_s = max(0.0, min(timeout_s, self.poll_interval_s))
        try:
            # Take what librdkafka has already fetched; only when that is nothing, wait, and
            # then for the first record alone. `consume(n, timeout)` would hold on to the
            # records it has until n arrive, which at a modest rate is most of the latency.
            messages = consume(num_messages=batch_size, timeout=0)
            if not messages and wait_s > 0:
                messages = consume(num_messages=1, timeout=wait_s)
                if messages and batch_size > 1:
                    messages.extend(consume(num_messages=batch_size - 1, timeout=0))
        except KafkaException as exc:
            raise BrokerError(f"consuming failed: {exc}") from exc
        except RuntimeError as exc:  # the handle was closed under us
            raise ConsumerClosedError(f"the consumer is closed: {exc}") from exc
        if messages:
            self.errors.answered()
        else:
            self.watch.check()
        self.queue.raw = messages
        self.convert_raw(chunk)
