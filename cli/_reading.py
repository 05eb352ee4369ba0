"""Reading a topic over a time range, once, with a SpanConsumer of the command's own group."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Final

from spanstream.cli._kafka import (
    RDKAFKA_LOG,
    BrokerAddress,
    PartitionRange,
    ephemeral_group_id,
    topic_range,
)
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import ConsumerStats, EventRecord, SpanConsumer, SpanRecord

__all__ = ["RangeReader"]

# A partition whose last records were bad (skipped, so never seen) ends the read after this long
# without a record.
_IDLE_END_S: Final = 5.0


class RangeReader:
    """The spans of one topic whose records fall in a time range, read once.

    :attr:`total_records` is known before reading (from the offsets), so a progress bar can
    show it; iterate the reader for the :class:`SpanRecord` values, in partition order.
    """

    def __init__(self, address: BrokerAddress, topic: str, time_range: TimeRange) -> None:
        self.address = address
        self.topic = topic
        self.time_range = time_range
        self.partitions: tuple[PartitionRange, ...] = topic_range(address, topic, time_range)
        self.records_read = 0
        """Records read so far (spans and bad records), for progress."""
        self._stats: ConsumerStats | None = None

    @property
    def total_records(self) -> int:
        """Records in the range (spans and bad records) as the topic was when it was opened."""
        return sum(p.records for p in self.partitions)

    @property
    def stats(self) -> ConsumerStats:
        """The consumer's counters once the read is over (bad records, duplicates)."""
        return self._stats if self._stats is not None else ConsumerStats()

    def __iter__(self) -> Iterator[SpanRecord]:
        return self.read()

    def read(self, *, on_progress: Callable[[int], None] | None = None) -> Iterator[SpanRecord]:
        """Yield the range's span records; ``on_progress(records_read)`` is called per batch."""
        for record in self.records(on_progress=on_progress):
            if isinstance(record, SpanRecord):  # events on the topic are not read
                yield record

    def records(
        self, *, on_progress: Callable[[int], None] | None = None
    ) -> Iterator[SpanRecord | EventRecord]:
        """Yield the range's span and event records (a topic may carry Flink's events too)."""
        remaining = {p.partition: p for p in self.partitions if p.records}
        if not remaining:
            return
        since = self.time_range.since_millis
        config: dict[str, Any] = {"logger": RDKAFKA_LOG}
        with SpanConsumer(
            self.topic,
            bootstrap_servers=self.address.bootstrap_servers,
            group_id=ephemeral_group_id("read"),
            start=since if since is not None else "earliest",
            config=config,
        ) as consumer:
            # Joining the group can take seconds (the broker's initial rebalance delay): the
            # idle clock starts once partitions are assigned.
            consumer.wait_for_assignment(timeout_s=60.0)
            last_seen = time.monotonic()
            try:
                while remaining:
                    batch = consumer.poll_batch(max_spans=5000, timeout_s=0.5)
                    if not batch:
                        if time.monotonic() - last_seen > _IDLE_END_S:
                            break
                        continue
                    last_seen = time.monotonic()
                    for record in batch:
                        bounds = remaining.get(record.partition)
                        if bounds is None or record.offset >= bounds.end:
                            remaining.pop(record.partition, None)
                            continue
                        if record.offset + 1 >= bounds.end:
                            remaining.pop(record.partition, None)
                        yield record
                    batch.ack()
                    self.records_read = consumer.stats().records_consumed
                    if on_progress is not None:
                        on_progress(self.records_read)
            finally:
                self._stats = consumer.stats()
