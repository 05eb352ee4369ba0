"""SpanConsumer: Kafka records back into spans, at-least-once, with a bad-record policy.

The delivery guarantee (at-least-once) and how offsets are stored and committed are written
once, in ``consumer/_partitions.py``; the record path in ``_record_feed.py`` (the poll loop),
``_record_queue.py`` and ``_record_conversion.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import Final, Self

from confluent_kafka import Consumer

from spanstream.consumer._bad_records import BadRecordPolicy
from spanstream.consumer._broker_health import (
    BrokerWatch,
    ErrorLog,
    close_client,
    metadata_probe,
    partitions_at_end,
)
from spanstream.consumer._client_config import (
    MANAGED_CONSUMER_KEYS,
    ConfigValue,
    check_broker_timeout,
    consumer_client_config,
)
from spanstream.consumer._config_checks import (
    check_client_keys,
    check_policy,
    check_settings,
    check_topics,
    new_client,
    open_dead_letter_sink,
    resolve_bootstrap_servers,
    start_position,
)
from spanstream.consumer._dead_letter import DeadLetterSink
from spanstream.consumer._duplicates import DuplicateWindow
from spanstream.consumer._errors import ConsumerClosedError
from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._offsets import TopicPartitionKey
from spanstream.consumer._partitions import Partitions
from spanstream.consumer._positions import StartPosition, to_epoch_ms
from spanstream.consumer._record_conversion import RecordConverter
from spanstream.consumer._record_feed import RecordFeed
from spanstream.consumer._records import SpanBatch, SpanRecord
from spanstream.consumer._stats import ConsumerCounters, ConsumerStats
from spanstream.schemas import ConfigError, SchemaRegistry, SpanCodec, SpanValueError

__all__ = ["SpanConsumer"]

_DEFAULT_BROKER_TIMEOUT_S: Final = 60.0
_NONE: Final[frozenset[str]] = frozenset()


class SpanConsumer:
    """Reads spans from Kafka topics as a member of a consumer group (at-least-once).

    Iterate it for one :class:`SpanRecord` at a time, or call :meth:`poll_batch` for batches;
    use it as a context manager (or call :meth:`close`) so that what was processed is committed
    and the group is left cleanly. See ``consumer/_partitions.py`` for the delivery guarantee.
    A consumer belongs to one thread: iterate, poll, acknowledge and commit from the same one
    (run one consumer per thread, or per process, to scale out within a group).

    Args:
        topics: topic names, or patterns starting with ``^`` (a regex, as librdkafka reads it).
        bootstrap_servers: ``host:port[,host:port...]``; ``$KAFKA_BOOTSTRAP_SERVERS`` when not
            given.
        group_id: the consumer group; members of one group share the partitions.
        start: where a partition starts when the group has no committed offset for it:
            ``"earliest"``, ``"latest"`` (the default, as Kafka's), or a wall-clock time (an
            aware ``datetime`` or epoch ms), resolved per partition with offsets-for-times when
            the partition is assigned. Committed offsets win; to re-read, use the ``seek_*``
            methods.
        bad_records: the policy for records that do not decode as spans (skip, raise or
            dead-letter); see :class:`BadRecordPolicy`.
        dead_letter_topic: where ``dead-letter`` writes bad records (required with that policy).
        config: any further librdkafka consumer properties (``auto.commit.interval.ms``,
            ``session.timeout.ms``, security settings...). Keys in
            :data:`MANAGED_CONSUMER_KEYS` are rejected; unknown keys (and producer properties)
            fail here, naming the closest known key.
        dead_letter_config: librdkafka producer properties for the dead-letter producer; the
            bootstrap servers and the consumer's connection and security settings are used by
            default, and ``acks=all`` with idempotence is always on. Checked like ``config``.
        schema_registry: a Schema Registry client
            (``confluent_kafka.schema_registry.SchemaRegistryClient``): Confluent-framed spans
            (magic byte 0) are then decoded, writer schemas looked up by id; without one they
            are bad records of reason ``confluent-framed``.
        broker_timeout_s: once no broker has answered for this long (every broker reported
            down, and a metadata request confirms it), reading raises
            :class:`~spanstream.schemas.BrokerError`; ``None`` waits for ever. :meth:`commit`
            waits for an answer at most this long (60 s when ``None``), then raises
            ``BrokerError`` naming the servers.
        duplicate_window: how many recent span ids (at least) are remembered to count
            redeliveries; memory holds at most twice that.
        drop_duplicates: drop (rather than deliver) spans seen within the window.
        fetch_batch_size: records taken from librdkafka per ``consume()`` call.
        poll_interval_s: the longest a single internal wait lasts (so Ctrl-C and ``close()``
            are honoured promptly).

    Example:
        >>> with SpanConsumer("flink-traces", group_id="analytics",  # doctest: +SKIP
        ...                   start="earliest") as consumer:  # $KAFKA_BOOTSTRAP_SERVERS
        ...     while not consumer.caught_up():
        ...         for record in consumer.poll_batch(timeout_s=5):
        ...             print(record.span.name, record.offset)

    Raises:
        ConfigError: a bad parameter or librdkafka property.
    """

    def __init__(
        self,
        topics: str | Sequence[str],
        *,
        bootstrap_servers: str | None = None,
        group_id: str,
        start: StartPosition = "latest",
        bad_records: BadRecordPolicy | str = BadRecordPolicy.SKIP,
        dead_letter_topic: str | None = None,
        config: Mapping[str, ConfigValue] | None = None,
        dead_letter_config: Mapping[str, ConfigValue] | None = None,
        duplicate_window: int = 100_000,
        drop_duplicates: bool = False,
        fetch_batch_size: int = 1000,
        poll_interval_s: float = 0.5,
        schema_registry: SchemaRegistry | None = None,
        broker_timeout_s: float | None = _DEFAULT_BROKER_TIMEOUT_S,
    ) -> None:
        self._topics = check_topics(topics)
        self._policy = check_policy(bad_records, dead_letter_topic)
        bootstrap_servers = resolve_bootstrap_servers(bootstrap_servers)
        check_broker_timeout(broker_timeout_s)
        check_settings(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            duplicate_window=duplicate_window,
            fetch_batch_size=fetch_batch_size,
            poll_interval_s=poll_interval_s,
        )
        extra = dict(config or {})
        check_client_keys(extra, name="config", client="consumer", managed=MANAGED_CONSUMER_KEYS)
        check_client_keys(
            dead_letter_config or {}, name="dead_letter_config", client="producer", managed=_NONE
        )
        reset, start_ms = start_position(start)

        self._counters = ConsumerCounters()
        user_error_cb = extra.pop("error_cb", None)
        self._errors = ErrorLog(self._counters, user_error_cb, config=extra)
        self._consumer = new_client(
            Consumer,
            consumer_client_config(
                extra,
                bootstrap_servers=bootstrap_servers,
                group_id=group_id,
                reset=reset,
                error_cb=self._errors,
            ),
            client="consumer",
            origin=lambda key: (
                "bootstrap_servers" if key == "bootstrap.servers" else f"config[{key!r}]"
            ),
        )
        self._watch = BrokerWatch(
            self._errors,
            timeout_s=broker_timeout_s,
            bootstrap_servers=bootstrap_servers,
            probe=metadata_probe(self._consumer),
        )

        self._dead_letters: DeadLetterSink | None = None
        if dead_letter_topic and self._policy is BadRecordPolicy.DEAD_LETTER:
            try:
                self._dead_letters = open_dead_letter_sink(
                    dead_letter_topic,
                    counters=self._counters,
                    bootstrap_servers=bootstrap_servers,
                    group_id=group_id,
                    consumer_config=extra,
                    dead_letter_config=dead_letter_config,
                )
            except ConfigError:
                self._consumer.close()
                raise
        self._converter = RecordConverter(
            counters=self._counters,
            errors=self._errors,
            policy=self._policy,
            dead_letters=self._dead_letters,
            confluent=(
                None
                if schema_registry is None
                else SpanCodec(framing="confluent", registry=schema_registry)
            ),
            window=DuplicateWindow(size=duplicate_window),
            drop_duplicates=drop_duplicates,
        )
        self._group_id = group_id
        self._partitions = Partitions(
            self._consumer,
            counters=self._counters,
            errors=self._errors,
            start_ms=start_ms,
            closed=lambda: self._feed.closed,
            bootstrap_servers=bootstrap_servers,
            commit_wait_s=broker_timeout_s or _DEFAULT_BROKER_TIMEOUT_S,
        )
        self._assigned = self._partitions.assigned  # the same set, kept up to date there
        self._queue = self._partitions.queue
        self._feed = RecordFeed(
            self._partitions,
            self._converter,
            self._errors,
            self._watch,
            fetch_batch_size=fetch_batch_size,
            poll_interval_s=float(poll_interval_s),
        )
        self._next_record = self._feed.next_record
        self._poll_interval_s = float(poll_interval_s)
        self._consumer.subscribe(
            list(self._topics),
            on_assign=self._partitions.on_assign,
            on_revoke=self._partitions.on_revoke,
            on_lost=self._partitions.on_lost,
        )

    # -- public API ---------------------------------------------------------------------------

    @property
    def topics(self) -> tuple[str, ...]:
        """The subscribed topic names and patterns."""
        return self._topics

    @property
    def group_id(self) -> str:
        """The consumer group."""
        return self._group_id

    @property
    def policy(self) -> BadRecordPolicy:
        """The bad-record policy."""
        return self._policy

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._feed.closed

    def assignment(self) -> tuple[TopicPartitionKey, ...]:
        """The ``(topic, partition)`` pairs currently assigned to this member, sorted."""
        return tuple(sorted(self._assigned))

    def stats(self) -> ConsumerStats:
        """A snapshot of the consumer's counters."""
        self._counters.spans_delivered = self._feed.spans_delivered
        self._counters.events_delivered = self._feed.events_delivered
        return self._counters.snapshot()

    def caught_up(self) -> bool:
        """Whether every record up to the end of every assigned partition was handed out.

        True once at least one partition is assigned, nothing fetched waits to be handed out,
        and each assigned partition's position has reached its end offset (the high
        watermark, as the last fetch saw it, or as the broker answers now for a partition not
        fetched yet). False while nothing is assigned, and while no broker answers: an
        unreachable broker is never "caught up". Records written afterwards make it False
        again. The loop ``while not consumer.caught_up(): consumer.poll_batch(...)`` reads a
        topic to its end (and raises :class:`~spanstream.schemas.BrokerError` after
        ``broker_timeout_s`` without a broker).

        Raises:
            BrokerError: no broker has answered for ``broker_timeout_s``.
        """
        self._check_open()
        self._watch.check()
        if not self._assigned or self._queue.pending():
            return False
        if self._errors.down_since is not None:
            return False
        return partitions_at_end(self._consumer, sorted(self._assigned), self._poll_interval_s)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> SpanRecord | EventRecord:
        """Return the next record, waiting as long as it takes (until :meth:`close`).

        Raises:
            DecodeError: a bad record, with the ``raise`` policy; iterating again moves past it.
            DeadLetterError: a bad record could not be dead-lettered; iterating again retries.
            BrokerError: no broker has answered for ``broker_timeout_s``.
            StopIteration: the consumer was closed.
        """
        record = self._next_record(None)
        if record is None:
            raise StopIteration
        return record

    def iter_records(
        self, *, idle_timeout_s: float | None = None
    ) -> Iterator[SpanRecord | EventRecord]:
        """Iterate records, stopping once none arrived for ``idle_timeout_s`` (never if None)."""
        next_record = self._next_record
        while True:
            record = next_record(idle_timeout_s)
            if record is None:
                return
            yield record

    def poll_batch(self, *, max_spans: int = 10_000, timeout_s: float = 1.0) -> SpanBatch:
        """Return up to ``max_spans`` records, waiting up to ``timeout_s`` to gather them.

        The batch's offsets are committed only once it is acknowledged (:meth:`SpanBatch.ack`
        or :meth:`commit`). The batch may be empty: nothing new arrived in time, the group is
        still being joined, or no broker answers; :meth:`caught_up` tells the end of the topics
        apart from the rest.

        While the batch is built from messages librdkafka already fetched, Python's cyclic
        garbage collector is paused (``gc.disable()``), and it is enabled again for any
        blocking wait and on return, even on an error (unless it was disabled before the
        call). Without that, a batch's records, alive together, cost more in collections than
        in decoding. The pause is process-wide but short: it spans converting at most
        ``max_spans`` messages (and, with the dead-letter policy, its writes).

        Raises:
            DecodeError: a bad record, with the ``raise`` policy; records before it are
                returned first, and the next call moves past it.
            DeadLetterError: a bad record could not be dead-lettered; the next call retries.
            BrokerError: no broker has answered for ``broker_timeout_s``.
        """
        if max_spans < 1:
            raise SpanValueError(f"max_spans must be >= 1, got {max_spans}")
        self._check_open()
        records, last = self._feed.batch(max_spans, timeout_s)
        if not records:
            self._partitions.processed_all(last)
            return SpanBatch((), _nothing)
        # Partitions revoked while the batch was gathered are someone else's to commit now.
        marks = [
            (key, self._partitions.tracker.deliver(key, offset))
            for key, offset in last.items()
            if key in self._assigned
        ]
        return SpanBatch(tuple(records), partial(self._partitions.ack_marks, marks))

    def commit(self) -> dict[TopicPartitionKey, int]:
        """Mark everything delivered so far processed, and commit it synchronously.

        Returns:
            The committed positions (the next offset to read) by ``(topic, partition)``.

        Raises:
            CommitError: the commit failed; the offsets stay stored and are retried. When no
                broker answers (none is reachable, or none within ``broker_timeout_s``, 60 s
                when that is None) it is also a :class:`~spanstream.schemas.BrokerError`
                naming the servers.
        """
        self._check_open()
        self._queue.release()
        self._queue.settle()
        self._partitions.tracker.ack_all()
        return self._partitions.commit_stored(bounded=True)

    def seek_to_beginning(self) -> dict[TopicPartitionKey, int]:
        """Move every assigned partition to its first record; returns the new offsets."""
        return self._seek(self._partitions.watermarks(low=True))

    def seek_to_end(self) -> dict[TopicPartitionKey, int]:
        """Move every assigned partition past its last record; returns the new offsets.

        The end is resolved now (the high watermark), so records written after the call are
        read.
        """
        return self._seek(self._partitions.watermarks(low=False))

    def seek_to_time(self, when: dt.datetime | int) -> dict[TopicPartitionKey, int]:
        """Move every assigned partition to its first record at or after ``when``.

        ``when`` is an aware datetime or epoch milliseconds (Kafka's record timestamps). A
        partition with no record that late moves to its end.

        Returns:
            The new positions by ``(topic, partition)`` (``-1`` meaning the end).
        """
        when_ms = to_epoch_ms(when, key="when")
        return self._seek(self._partitions.offsets_for_time(sorted(self._assigned), when_ms))

    def wait_for_assignment(self, *, timeout_s: float = 30.0) -> tuple[TopicPartitionKey, ...]:
        """Poll until the group assigned this member a partition (or the timeout); seek needs one.

        Records fetched meanwhile are kept and delivered as usual.
        """
        self._check_open()
        self._feed.wait_for_assignment(timeout_s)
        return self.assignment()

    def close(self) -> None:
        """Commit what was processed (including the record last iterated) and leave the group.

        Idempotent. Records delivered in unacknowledged batches are not committed.
        """
        self._close(release_in_flight=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        # Leaving on an exception: the record being processed is not known to be done.
        self._close(release_in_flight=exc_type is None)

    def __repr__(self) -> str:
        # Never the configuration: it may hold credentials.
        state = "closed" if self._feed.closed else f"{len(self._assigned)} partitions"
        return f"SpanConsumer({list(self._topics)}, group={self._group_id!r}, {state})"

    # -- replay -------------------------------------------------------------------------------

    def _seek(self, positions: dict[TopicPartitionKey, int]) -> dict[TopicPartitionKey, int]:
        self._check_open()
        self._partitions.seek(positions)
        # Reading again on purpose is not redelivery.
        self._converter.window.clear()
        return positions

    # -- closing ------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._feed.closed:
            raise ConsumerClosedError("the SpanConsumer is closed")

    def _close(self, *, release_in_flight: bool) -> None:
        if self._feed.closed:
            return
        self._feed.closed = True
        try:
            if release_in_flight:
                self._queue.release()
            self._queue.settle()
            self._queue.clear()
            close_client(self._consumer, self._partitions.commit_and_close)
        finally:
            if self._dead_letters is not None:
                self._dead_letters.close()


def _nothing() -> None:
    """Acknowledging an empty batch has nothing to do."""
