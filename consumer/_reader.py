"""SpanReader: a topic's spans read by assignment, as kcat reads, with no consumer group.

A :class:`SpanConsumer` is a member of a consumer group: it commits what it processed, so a
group of them shares and resumes the work. A one-off read (a time range into a table, a ``tail``
on a terminal) wants none of that: it needs no group, leaves none behind on the cluster, commits
nothing, and on a secured cluster needs no permission on any group. :class:`SpanReader` assigns
itself every partition of one topic at a start position and reads to an end:

* ``stop_at_end=True``: each partition's end as it was when the reader opened (its high
  watermark), or the first record at or after ``until``, whichever comes first;
* ``stop_at_end=False`` (follow): new records as they arrive, until ``until`` if given (once the
  wall clock passes it, each partition ends at the first record at or after it, or at its end
  as it is then).

Event records on the topic (told apart by schema fingerprint) are passed over unless the reader
was made with ``events=True``; then they come out as :class:`EventRecord` values among the span
records. Other records that are not spans are counted (:attr:`ConsumerStats.bad_records`) and
skipped, as the consumer's ``skip`` policy does; redelivered span ids are counted as duplicates.
Partitions added to the topic after the reader opened are not read.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from spanstream.consumer._duplicates import DuplicateWindow
from spanstream.consumer._event_records import EventRecord, decode_event_record, is_event_message
from spanstream.consumer._positions import to_epoch_ms
from spanstream.consumer._records import SpanRecord, record_headers
from spanstream.consumer._stats import ConsumerCounters, ConsumerStats
from spanstream.kafka import scrub
from spanstream.schemas import BrokerError, ConfigError, DecodeError, SpanstreamError, decode_span

__all__ = [
    "READER_MANAGED_KEYS",
    "PartitionRange",
    "ReaderStart",
    "SpanReader",
    "TopicNotFoundError",
]

_LOG = logging.getLogger("spanstream.consumer.reader")
_LIBRDKAFKA_LOG = logging.getLogger("spanstream.consumer.librdkafka")
_METADATA_TIMEOUT_S: Final = 10.0
_TOPIC_RETRY_S: Final = 2.0
_UNTIL_CHECK_S: Final = 1.0
_LOG_INTERVAL_S: Final = 60.0
_UNUSED_GROUP_ID: Final = "spanstream-reader-never-joined"

ReaderStart = Literal["earliest", "latest"] | dt.datetime | int
"""Where every partition starts: its first record, its end, or the first record at or after a
wall-clock time (an aware ``datetime`` or epoch milliseconds; a partition with none starts at
its end)."""

READER_MANAGED_KEYS: Final = frozenset(
    {
        "bootstrap.servers",
        "group.id",
        "group.instance.id",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "enable.partition.eof",
    }
)
"""librdkafka keys a :class:`SpanReader` sets itself (or must not have: it joins no group)."""


class TopicNotFoundError(SpanstreamError):
    """The topic a :class:`SpanReader` was asked to read to its end does not exist."""


@dataclass(frozen=True, slots=True)
class PartitionRange:
    """The offsets a reader reads from one partition: ``[start, end)``; ``end`` None: follow."""

    partition: int
    start: int
    end: int | None

    @property
    def records(self) -> int | None:
        """How many records the range holds, when its end is known."""
        return None if self.end is None else max(0, self.end - self.start)


class SpanReader:
    """Reads one topic's spans by assignment: every partition, no consumer group, no commits.

    Iterate it for :class:`SpanRecord` values (iteration ends when every partition reached its
    end; in follow mode it does not end), or call :meth:`poll_batch`. Use it as a context
    manager, or call :meth:`close`. One thread at a time.

    Args:
        topic: the topic to read.
        bootstrap_servers: ``host:port[,host:port...]``.
        start: ``"earliest"`` (the default), ``"latest"``, or a wall-clock time.
        until: an aware datetime or epoch milliseconds: records at or after it are not read
            (the end of the range, exclusive); ``None``: no time limit.
        stop_at_end: stop at the topic's end as it was when the reader opened (``True``, the
            default), or follow new records (``False``).
        config: further librdkafka consumer properties (security settings, ``client.id``...);
            keys in :data:`READER_MANAGED_KEYS` are rejected.
        idle_timeout_s: with ``stop_at_end``, how long records may stop coming while some are
            still due before :meth:`poll_batch` raises :class:`BrokerError` (a broker that went
            away, a topic deleted meanwhile): a read to the end never hangs.
        events: hand out the topic's event records too (as :class:`EventRecord`), instead of
            passing over them.

    Example:
        >>> reader = SpanReader("traces", bootstrap_servers="localhost:9092")  # doctest: +SKIP
        >>> with reader:  # doctest: +SKIP
        ...     names = [record.span.name for record in reader]

    Raises:
        ConfigError: a bad parameter or librdkafka property.
    """

    def __init__(
        self,
        topic: str,
        *,
        bootstrap_servers: str,
        start: ReaderStart = "earliest",
        until: dt.datetime | int | None = None,
        stop_at_end: bool = True,
        config: Mapping[str, Any] | None = None,
        idle_timeout_s: float = 60.0,
        events: bool = False,
    ) -> None:
        if not isinstance(topic, str) or not topic or topic.startswith("^"):
            raise ConfigError("topic", topic, "one topic name (patterns need a SpanConsumer)")
        if not isinstance(bootstrap_servers, str) or not bootstrap_servers.strip():
            raise ConfigError("bootstrap_servers", bootstrap_servers, "host:port[,host:port...]")
        self._start: Literal["earliest", "latest"] | int
        if start == "earliest":
            self._start = "earliest"
        elif start == "latest":
            self._start = "latest"
        elif isinstance(start, dt.datetime | int) and not isinstance(start, bool):
            self._start = to_epoch_ms(start, key="start")
        else:
            raise ConfigError("start", start, "'earliest', 'latest', an aware datetime or epoch ms")
        self._until_ms = None if until is None else to_epoch_ms(until, key="until")
        extra = dict(config or {})
        managed = sorted(READER_MANAGED_KEYS.intersection(extra))
        if managed:
            raise ConfigError(
                f"config[{managed[0]!r}]",
                "***",
                "nothing: the reader sets this key itself (see READER_MANAGED_KEYS)",
            )
        self._topic = topic
        self._stop_at_end = stop_at_end
        self._events = events
        self._counters = ConsumerCounters()
        self._window = DuplicateWindow(size=100_000)
        self._ranges: dict[int, PartitionRange] | None = None
        self._position: dict[int, int] = {}
        self._finished: set[int] = set()
        self._next_topic_check = 0.0
        self._next_until_check = 0.0
        self._logged: dict[str, float] = {}
        self._closed = False
        if not isinstance(idle_timeout_s, int | float) or not idle_timeout_s > 0:
            raise ConfigError("idle_timeout_s", idle_timeout_s, "seconds > 0")
        self._idle_timeout_s = float(idle_timeout_s)
        self._last_progress = time.monotonic()
        settings: dict[str, Any] = {
            "logger": _LIBRDKAFKA_LOG,
            **extra,
            "bootstrap.servers": bootstrap_servers,
            # confluent-kafka insists on a group id even for assign(); with no subscribe() and
            # no commit it names nothing on the cluster: no group is joined or created.
            "group.id": _UNUSED_GROUP_ID,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": False,
        }
        try:
            self._consumer = Consumer(settings)
        except (KafkaException, ValueError, TypeError) as exc:
            text = _scrubbed(exc, extra)
            error = ConfigError("config", "***", f"librdkafka consumer properties ({text})")
            # The original error stays the cause only when it shows no credential.
            raise error from (exc if text == str(exc) else None)

    # -- public API ---------------------------------------------------------------------------

    @property
    def topic(self) -> str:
        """The topic read."""
        return self._topic

    def open(self, *, timeout_s: float = _METADATA_TIMEOUT_S) -> tuple[PartitionRange, ...]:
        """Resolve every partition's range and assign them; returns the ranges (idempotent).

        Raises:
            TopicNotFoundError: the topic does not exist (in follow mode the reader waits for
                it instead: see :meth:`poll_batch`).
            BrokerError: the cluster did not answer.
        """
        if self._ranges is None and not self._resolve(timeout_s=timeout_s):
            raise TopicNotFoundError(
                f"topic {self._topic!r} does not exist on the cluster (or is not visible)"
            )
        assert self._ranges is not None
        return tuple(self._ranges.values())

    @property
    def total_records(self) -> int | None:
        """Records (spans and bad records) in the ranges, when every end is known; opens."""
        ranges = self.open()
        counts = [r.records for r in ranges]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def done(self) -> bool:
        """Whether every partition reached its end (never in follow mode without ``until``)."""
        return self._ranges is not None and len(self._finished) >= len(self._ranges)

    def stats(self) -> ConsumerStats:
        """A snapshot of the counters: records read, spans delivered, bad records, duplicates."""
        return self._counters.snapshot()

    def poll_batch(self, *, max_spans: int = 5000, timeout_s: float = 0.5) -> list[SpanRecord]:
        """Return up to ``max_spans`` span records, waiting up to ``timeout_s`` for the first.

        Returns an empty list at the end (see :attr:`done`) or when nothing arrived in time.
        A reader made with ``events=True`` leaves its event records out here: use
        :meth:`poll_records` for both.
        """
        return [
            record
            for record in self.poll_records(max_records=max_spans, timeout_s=timeout_s)
            if type(record) is SpanRecord
        ]

    def poll_records(
        self, *, max_records: int = 5000, timeout_s: float = 0.5
    ) -> list[SpanRecord | EventRecord]:
        """Return up to ``max_records`` span and event records, waiting up to ``timeout_s``.

        Returns an empty list at the end (see :attr:`done`) or when nothing arrived in time.
        In follow mode a topic that does not exist yet is looked for every two seconds (and
        read from its beginning once it appears, even from ``"latest"``).
        """
        if self._closed:
            return []
        if self._ranges is None:
            now = time.monotonic()
            if now >= self._next_topic_check:
                if self._resolve(timeout_s=_METADATA_TIMEOUT_S):
                    return self.poll_records(max_records=max_records, timeout_s=timeout_s)
                if self._stop_at_end:
                    raise TopicNotFoundError(f"topic {self._topic!r} does not exist")
                self._next_topic_check = now + _TOPIC_RETRY_S
                if self._start == "latest":
                    # Everything a topic created from now on holds is new: read it all.
                    self._start = "earliest"
            time.sleep(max(0.0, min(timeout_s, self._next_topic_check - time.monotonic())))
            return []
        if self.done:
            return []
        self._check_until()
        try:
            messages = self._consumer.consume(num_messages=max_records, timeout=timeout_s)
        except KafkaException as exc:
            raise BrokerError(f"reading {self._topic!r} failed: {exc}") from exc
        if not messages:
            self._finish_idle()
            self._check_idle()
        return self._convert(messages)

    def __iter__(self) -> Iterator[SpanRecord]:
        while not self.done and not self._closed:
            yield from self.poll_batch()

    def close(self) -> None:
        """Close the Kafka client (idempotent). Nothing is committed: there is no group."""
        if not self._closed:
            self._closed = True
            self._consumer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("done" if self.done else "reading")
        return f"SpanReader({self._topic!r}, {state})"

    # -- internals ----------------------------------------------------------------------------

    def _resolve(self, *, timeout_s: float) -> bool:
        """Find the partitions and their ranges, and assign them; False if there is no topic."""
        consumer = self._consumer
        try:
            metadata = consumer.list_topics(topic=self._topic, timeout=timeout_s)
            described = metadata.topics.get(self._topic)
            if described is None or described.error is not None or not described.partitions:
                return False
            partitions = sorted(described.partitions)
            marks = {p: self._watermarks(p, timeout_s) for p in partitions}
            starts = self._offsets_at(self._start, partitions, marks, timeout_s)
            ends: dict[int, int | None] = {
                p: marks[p][1] if self._stop_at_end else None for p in partitions
            }
            if self._until_ms is not None:
                found = consumer.offsets_for_times(
                    [TopicPartition(self._topic, p, self._until_ms) for p in partitions],
                    timeout=timeout_s,
                )
                for tp in found:
                    if tp.offset >= 0:
                        end = ends[tp.partition]
                        ends[tp.partition] = tp.offset if end is None else min(end, tp.offset)
        except KafkaException as exc:
            raise BrokerError(f"reading the offsets of {self._topic!r} failed: {exc}") from exc
        ranges = {}
        for p in partitions:
            end = ends[p]
            ranges[p] = PartitionRange(p, starts[p], None if end is None else max(starts[p], end))
        self._ranges = ranges
        self._last_progress = time.monotonic()
        self._position = {p: r.start for p, r in ranges.items()}
        self._finished = {p for p, r in ranges.items() if r.records == 0}
        live = [TopicPartition(self._topic, p, r.start) for p, r in ranges.items()]
        live = [tp for tp in live if tp.partition not in self._finished]
        if live:
            consumer.assign(live)
        return True

    def _watermarks(self, partition: int, timeout_s: float) -> tuple[int, int]:
        low, high = self._consumer.get_watermark_offsets(
            TopicPartition(self._topic, partition), timeout=timeout_s
        )
        return int(low), int(high)

    def _offsets_at(
        self,
        start: Literal["earliest", "latest"] | int,
        partitions: list[int],
        marks: Mapping[int, tuple[int, int]],
        timeout_s: float,
    ) -> dict[int, int]:
        if start == "earliest":
            return {p: marks[p][0] for p in partitions}
        if start == "latest":
            return {p: marks[p][1] for p in partitions}
        found = self._consumer.offsets_for_times(
            [TopicPartition(self._topic, p, start) for p in partitions], timeout=timeout_s
        )
        # No record at or after the time: the partition starts at its end.
        return {
            tp.partition: tp.offset if tp.offset >= 0 else marks[tp.partition][1] for tp in found
        }

    def _check_until(self) -> None:
        """In follow mode, once the clock passed ``until``, end each partition at its end now."""
        until = self._until_ms
        ranges = self._ranges
        if until is None or ranges is None or self._stop_at_end:
            return
        now = time.monotonic()
        if now < self._next_until_check or time.time_ns() // 1_000_000 < until:
            return
        self._next_until_check = now + _UNTIL_CHECK_S
        open_partitions = [p for p, r in ranges.items() if r.end is None]
        if not open_partitions:
            return
        try:
            found = self._consumer.offsets_for_times(
                [TopicPartition(self._topic, p, until) for p in open_partitions],
                timeout=_METADATA_TIMEOUT_S,
            )
            for tp in found:
                p = tp.partition
                end = tp.offset if tp.offset >= 0 else self._watermarks(p, _METADATA_TIMEOUT_S)[1]
                ranges[p] = PartitionRange(p, ranges[p].start, max(ranges[p].start, end))
                if self._position[p] >= ranges[p].start and self._position[p] >= end:
                    self._finish(p)
        except KafkaException as exc:
            raise BrokerError(f"reading the offsets of {self._topic!r} failed: {exc}") from exc

    def _finish_idle(self) -> None:
        """End the partitions whose position passed their end with no record to show for it.

        The offsets up to an end may hold no record the reader receives (a transaction's
        control record, say); the consumer's position still moves past them.
        """
        assert self._ranges is not None
        waiting = [
            TopicPartition(self._topic, p)
            for p, r in self._ranges.items()
            if r.end is not None and p not in self._finished
        ]
        if not waiting:
            return
        try:
            positions = self._consumer.position(waiting)
        except KafkaException:
            return
        for tp in positions:
            end = self._ranges[tp.partition].end
            if end is not None and tp.offset >= end:
                self._finish(tp.partition)

    def _check_idle(self) -> None:
        """Raise when a read to the end has made no progress for ``idle_timeout_s``."""
        if not self._stop_at_end or self.done:
            return
        idle_s = time.monotonic() - self._last_progress
        if idle_s > self._idle_timeout_s:
            assert self._ranges is not None
            waiting = sorted(set(self._ranges) - self._finished)
            raise BrokerError(
                f"reading {self._topic!r}: no record from partitions {waiting} for "
                f"{idle_s:.0f} s although records are due (broker gone, or topic deleted?)"
            )

    def _finish(self, partition: int) -> None:
        if partition in self._finished:
            return
        self._finished.add(partition)
        self._last_progress = time.monotonic()
        try:
            self._consumer.incremental_unassign([TopicPartition(self._topic, partition)])
        except KafkaException:
            _LOG.debug("unassigning partition %d failed (its records are ignored)", partition)

    def _convert(self, messages: list[Message]) -> list[SpanRecord | EventRecord]:
        assert self._ranges is not None
        ranges = self._ranges
        records: list[SpanRecord | EventRecord] = []
        counters = self._counters
        for message in messages:
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise BrokerError(f"reading {self._topic!r} hit a fatal Kafka error: {error}")
                if error.code() != KafkaError._PARTITION_EOF:
                    counters.kafka_errors += 1
                    self._log_once("kafka", "Kafka error while reading: %s", error)
                continue
            partition = int(message.partition() or 0)
            offset = int(message.offset() or 0)
            bounds = ranges.get(partition)
            if bounds is None or partition in self._finished:
                continue
            if bounds.end is not None and offset >= bounds.end:
                self._finish(partition)
                continue
            self._position[partition] = offset + 1
            timestamp_type, timestamp_ms = message.timestamp()
            timestamp = timestamp_ms if timestamp_type else None
            until = self._until_ms
            past_until = until is not None and timestamp is not None and timestamp >= until
            if bounds.end is None and past_until:
                self._finish(partition)
                continue
            if bounds.end is not None and offset + 1 >= bounds.end:
                self._finish(partition)
            counters.records_consumed += 1
            self._last_progress = time.monotonic()
            record = self._record(message, partition, offset, timestamp)
            if record is not None:
                records.append(record)
        spans = sum(type(record) is SpanRecord for record in records)
        counters.spans_delivered += spans
        counters.events_delivered += len(records) - spans
        return records

    def _record(
        self, message: Message, partition: int, offset: int, timestamp: int | None
    ) -> SpanRecord | EventRecord | None:
        """The record of one message in range, or None (an event passed over, a bad record)."""
        value = message.value()
        try:
            if is_event_message(value):
                if not self._events:
                    return None  # an event on the same topic: this reader hands out spans only
                return decode_event_record(value, message)  # type: ignore[arg-type]
            span = decode_span(value if value is not None else b"")
        except DecodeError as exc:
            self._bad_record(exc, partition, offset)
            return None
        if self._window.seen(span.span_id):
            self._counters.duplicate_spans += 1
        return SpanRecord(
            span,
            self._topic,
            partition,
            offset,
            message.key(),
            record_headers(message.headers()),
            timestamp,
        )

    def _bad_record(self, exc: DecodeError, partition: int, offset: int) -> None:
        error_with_origin = exc.with_origin(topic=self._topic, partition=partition, offset=offset)
        self._counters.bad_records_by_reason[error_with_origin.reason] += 1
        self._log_once(error_with_origin.reason, "bad record skipped: %s", error_with_origin)

    def _log_once(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._logged.get(kind, -math.inf) >= _LOG_INTERVAL_S:
            self._logged[kind] = now
            _LOG.warning(message + " (repeats are logged once a minute)", *args)


def _scrubbed(exc: BaseException, config: Mapping[str, Any]) -> str:
    """The exception's text with the values of credential-like keys replaced by ``***``."""
    return scrub(str(exc), config)
