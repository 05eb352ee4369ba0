"""What a consumer-group member owns: its assigned partitions, their offsets, and rebalances.

Processed positions go to the :class:`OffsetTracker`; those it releases are stored in
librdkafka (``store_offsets``), which commits them on its interval, on ``commit()``, on revoke
and on close. A revoked partition is committed before it is handed over; a lost one is not.

Delivery guarantee (at-least-once)
----------------------------------
librdkafka never stores an offset by itself here (``enable.auto.offset.store=false``). The
consumer stores a record's offset only once the application is done with it:

* in iteration, when the application asks for the next record (it moved past the previous
  one), calls :meth:`SpanConsumer.commit`, or closes the consumer normally (a ``with`` block
  left by an exception does not count the record it was processing);
* in batches, when the batch is acknowledged (:meth:`SpanBatch.ack` or ``commit()``);
* a bad record, once it was skipped, dead-lettered (acknowledged by the broker), or raised and
  moved past.

Stored offsets are committed by librdkafka's auto-commit on an interval
(``auto.commit.interval.ms``, 1000 ms here unless given), synchronously on every ``commit()``,
when partitions are revoked in a rebalance, and on ``close()``. Only a partition's highest
*contiguous* processed position is stored, so acknowledging batch 2 before batch 1 commits
nothing past batch 1. A crash therefore loses nothing; it redelivers what was processed but not
yet committed. Redeliveries are counted (``ConsumerStats.duplicate_spans``) against a bounded
window of recent span ids, and optionally dropped.

Scaling out is Kafka's consumer group with the cooperative-sticky assignor: a member joining or
leaving moves only the partitions that must move, and the consumer commits what it processed
from a partition before giving it up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from confluent_kafka import (
    OFFSET_END,
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from spanstream.consumer._broker_health import ErrorLog, run_bounded
from spanstream.consumer._errors import CommitError, CommitUnansweredError
from spanstream.consumer._offsets import OffsetTracker, PendingMark, TopicPartitionKey
from spanstream.consumer._record_queue import RecordQueue
from spanstream.consumer._stats import ConsumerCounters
from spanstream.schemas import BrokerError

__all__ = ["Partitions"]

_LOG = logging.getLogger("spanstream.consumer")
_METADATA_TIMEOUT_S: Final = 10.0
# A commit that failed for want of a broker (rather than refused by one).
_NO_ANSWER: Final = frozenset(
    {
        KafkaError._WAIT_COORD,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TIMED_OUT,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)


class Partitions:
    """The partitions assigned to one member, their offsets, and the rebalance callbacks.

    Args:
        client: the librdkafka consumer.
        counters: the consumer's counters (partitions, commits).
        errors: told that a broker answered (an assignment is an answer).
        start_ms: where a partition without a committed offset starts (epoch ms), or None.
        closed: whether the consumer was closed.
        bootstrap_servers: the brokers (named when a commit gets no answer).
        commit_wait_s: how long a synchronous commit is waited for.
    """

    def __init__(
        self,
        client: Consumer,
        *,
        counters: ConsumerCounters,
        errors: ErrorLog,
        start_ms: int | None,
        closed: Callable[[], bool],
        bootstrap_servers: str,
        commit_wait_s: float,
    ) -> None:
        self.client = client
        self._bootstrap_servers = bootstrap_servers
        self._commit_wait_s = commit_wait_s
        self.assigned: set[TopicPartitionKey] = set()
        self.tracker = OffsetTracker()
        self._queue = RecordQueue(self.assigned, self.processed_all)
        self._counters = counters
        self._errors = errors
        self._start_ms = start_ms
        self._closed = closed

    @property
    def queue(self) -> RecordQueue:
        """The queue of the messages consumed from these partitions."""
        return self._queue

    def processed_all(self, last: Mapping[TopicPartitionKey, int]) -> None:
        for key, offset in last.items():
            self.tracker.processed(key, offset)

    def ack_marks(self, marks: Sequence[tuple[TopicPartitionKey, PendingMark]]) -> None:
        for key, mark in marks:
            self.tracker.ack(key, mark)
        if not self._closed():
            # Store now, so the next interval commit covers the batch even if polling pauses.
            self.store_ready()

    def store_ready(self) -> None:
        ready = self.tracker.take_ready()
        if not ready:
            return
        assigned = self.assigned
        offsets = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in ready.items()
            if (topic, partition) in assigned
        ]
        if not offsets:
            return
        try:
            self.client.store_offsets(offsets=offsets)
        except KafkaException as exc:
            # Partitions revoked meanwhile: their records will be redelivered (at-least-once).
            _LOG.warning("could not store offsets %s: %s", offsets, exc)

    def commit_stored(self, *, bounded: bool = False) -> dict[TopicPartitionKey, int]:
        """Store what is ready, commit the stored offsets synchronously; what was committed.

        librdkafka's synchronous commit waits for ever while no broker answers. ``bounded``
        (the consumer's ``commit()``) waits for it at most ``commit_wait_s`` (it runs on a
        thread of its own, see ``run_bounded``); the offsets then stay stored, for a later
        commit. A rebalance callback commits unbounded: there the commit must run on the
        callback's own thread (on another, it would wait for the callback to end).

        Raises:
            CommitError: the broker refused the commit.
            CommitUnansweredError: no broker answered (a BrokerError too): none is reachable,
                or, ``bounded``, none answered within ``commit_wait_s``.
        """
        self.store_ready()
        client = self.client
        try:
            if bounded:
                committed = run_bounded(
                    lambda: client.commit(asynchronous=False),
                    wait_s=self._commit_wait_s,
                    name="spanstream-consumer-commit",
                )
            else:
                committed = client.commit(asynchronous=False)
        except TimeoutError as exc:
            self._counters.commit_failures += 1
            raise self._unanswered(f"none within {self._commit_wait_s:g} s") from exc
        except KafkaException as exc:
            code = exc.args[0].code() if exc.args else None
            if code == KafkaError._NO_OFFSET:
                return {}
            self._counters.commit_failures += 1
            if code in _NO_ANSWER:
                raise self._unanswered(str(exc)) from exc
            raise CommitError(f"committing offsets failed: {exc}") from exc
        failed = [tp for tp in committed if tp.error is not None]
        if failed:
            self._counters.commit_failures += 1
            raise CommitError(f"committing offsets failed for {failed}")
        self._counters.commits += 1
        return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}

    def _unanswered(self, why: str) -> CommitUnansweredError:
        return CommitUnansweredError(
            f"committing offsets: no answer from the Kafka brokers at {self._bootstrap_servers} "
            f"({why}); the offsets stay stored and are committed by a later commit"
        )

    def commit_and_close(self) -> None:
        """Commit what was processed (a failure is logged: it is redelivered), close the client."""
        try:
            self.commit_stored()
        except CommitError:
            _LOG.exception("final commit failed; uncommitted records will be redelivered")
        finally:
            self.client.close()

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Runs inside consume(); an exception here would surface there, so none escapes.
        self._errors.answered()
        self._counters.partitions_assigned += len(partitions)
        keys = {(tp.topic, tp.partition) for tp in partitions}
        # A partition coming back starts clean: ranges delivered before it was revoked are moot.
        self.tracker.forget(keys)
        self.assigned.update(keys)
        if self._start_ms is None or not partitions:
            return  # librdkafka assigns them, starting at the committed offsets or the reset
        try:
            self.position_by_time(consumer, partitions, self._start_ms)
        except Exception:  # noqa: BLE001 - raising here would break consume(); fall back instead
            _LOG.exception("could not resolve the start time; using committed offsets or latest")
            for tp in partitions:
                tp.offset = OFFSET_INVALID
        try:
            consumer.incremental_assign(partitions)
        except KafkaException:
            # confluent-kafka assigns the partitions itself when the callback did not.
            _LOG.exception("could not assign %s at the start time", partitions)

    def position_by_time(
        self, consumer: Consumer, partitions: list[TopicPartition], when_ms: int
    ) -> None:
        committed = consumer.committed(
            [TopicPartition(tp.topic, tp.partition) for tp in partitions],
            timeout=_METADATA_TIMEOUT_S,
        )
        has_commit = {(tp.topic, tp.partition) for tp in committed if tp.offset >= 0}
        fresh = [tp for tp in partitions if (tp.topic, tp.partition) not in has_commit]
        if not fresh:
            return
        positions = self.offsets_for_time([(tp.topic, tp.partition) for tp in fresh], when_ms)
        for tp in fresh:
            tp.offset = positions[(tp.topic, tp.partition)]

    def watermarks(self, *, low: bool) -> dict[TopicPartitionKey, int]:
        positions = {}
        for topic, partition in sorted(self.assigned):
            try:
                low_offset, high_offset = self.client.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=_METADATA_TIMEOUT_S
                )
            except KafkaException as exc:
                raise BrokerError(f"watermarks of {topic}[{partition}] failed: {exc}") from exc
            positions[(topic, partition)] = low_offset if low else high_offset
        return positions

    def offsets_for_time(
        self, keys: Sequence[TopicPartitionKey], when_ms: int
    ) -> dict[TopicPartitionKey, int]:
        if not keys:
            return {}
        try:
            found = self.client.offsets_for_times(
                [TopicPartition(topic, partition, when_ms) for topic, partition in keys],
                timeout=_METADATA_TIMEOUT_S,
            )
        except KafkaException as exc:
            raise BrokerError(f"offsets for time {when_ms} failed: {exc}") from exc
        positions: dict[TopicPartitionKey, int] = {}
        for tp in found:
            if tp.offset >= 0:
                positions[(tp.topic, tp.partition)] = tp.offset
            else:  # no record at or after the time: the end, as it is now
                try:
                    positions[(tp.topic, tp.partition)] = self.client.get_watermark_offsets(
                        TopicPartition(tp.topic, tp.partition), timeout=_METADATA_TIMEOUT_S
                    )[1]
                except KafkaException:
                    positions[(tp.topic, tp.partition)] = OFFSET_END
        return positions

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = {(tp.topic, tp.partition) for tp in partitions}
        self._counters.partitions_revoked += len(keys)
        try:
            # Hand the partitions over with everything processed committed.
            self.commit_stored()
        except Exception:  # noqa: BLE001 - raising here would break consume(); duplicates are fine
            _LOG.exception("commit on revoke failed; the new owner will see duplicates")
        finally:
            self.drop_partitions(keys)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        keys = {(tp.topic, tp.partition) for tp in partitions}
        self._counters.partitions_revoked += len(keys)
        _LOG.warning("partitions lost (not committed; they are redelivered): %s", sorted(keys))
        self.drop_partitions(keys)

    def drop_partitions(self, keys: set[TopicPartitionKey]) -> None:
        """Forget these partitions: no longer assigned, nothing of them pending."""
        self.assigned.difference_update(keys)
        self._queue.drop(keys)
        self.tracker.forget(keys)

    def seek(self, positions: Mapping[TopicPartitionKey, int]) -> None:
        """Move these partitions to these offsets, forgetting what was fetched and pending.

        Raises:
            BrokerError: a seek failed.
        """
        self._queue.release()
        self._queue.settle()
        self.store_ready()
        for (topic, partition), offset in positions.items():
            try:
                self.client.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                raise BrokerError(
                    f"seek of {topic}[{partition}] to {offset} failed: {exc}"
                ) from exc
        keys = set(positions)
        self._queue.drop(keys)
        self.tracker.forget(keys)
