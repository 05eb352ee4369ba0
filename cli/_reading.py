"""Reading a topic over a time range, once, by assignment (no consumer group is left behind)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from spanstream.cli._kafka import RDKAFKA_LOG, BrokerAddress, check_topic
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import (
    ConsumerStats,
    EventRecord,
    PartitionRange,
    SpanReader,
    SpanRecord,
)

__all__ = ["RangeReader"]


class RangeReader:
    """The spans of one topic whose records fall in a time range, read once.

    :attr:`total_records` is known before reading (from the offsets), so a progress bar can
    show it; iterate the reader for the :class:`SpanRecord` values, in partition order. The
    read joins no consumer group and commits nothing (a :class:`SpanReader`).

    Raises:
        CliError: the topic does not exist (when opened).
        BrokerUnreachableError: the broker stopped answering.
    """

    def __init__(
        self,
        address: BrokerAddress,
        topic: str,
        time_range: TimeRange,
        *,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        self.address = address
        self.topic = topic
        self.time_range = time_range
        check_topic(address, topic, properties=properties)
        since = time_range.since_millis
        config: dict[str, Any] = {"logger": RDKAFKA_LOG, **(properties or {})}
        self._reader = SpanReader(
            topic,
            bootstrap_servers=address.bootstrap_servers,
            start="earliest" if since is None else since,
            until=time_range.until_millis,
            stop_at_end=True,
            config=config,
            events=True,
        )
        self.partitions: tuple[PartitionRange, ...] = self._reader.open()
        self.records_read = 0
        """Records read so far (spans and bad records), for progress."""

    @property
    def total_records(self) -> int:
        """Records in the range (spans and bad records) as the topic was when it was opened."""
        return sum(p.records or 0 for p in self.partitions)

    @property
    def stats(self) -> ConsumerStats:
        """The reader's counters (bad records, duplicates)."""
        return self._reader.stats()

    def __iter__(self) -> Iterator[SpanRecord]:
        return self.read()

    def read(self, *, on_progress: Callable[[int], None] | None = None) -> Iterator[SpanRecord]:
        """Yield the range's span records; ``on_progress(records_read)`` is called per batch."""
        for record in self.records(on_progress=on_progress):
            if type(record) is SpanRecord:  # events on the topic are left out
                yield record

    def records(
        self, *, on_progress: Callable[[int], None] | None = None
    ) -> Iterator[SpanRecord | EventRecord]:
        """Yield the range's span and event records (a topic may carry Flink's events too)."""
        reader = self._reader
        try:
            while not reader.done:
                yield from reader.poll_records(max_records=5000, timeout_s=0.5)
                self.records_read = reader.stats().records_consumed
                if on_progress is not None:
                    on_progress(self.records_read)
        finally:
            reader.close()
