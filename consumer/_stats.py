"""The consumer's counters, and the frozen snapshot the application reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Final

__all__ = ["ConsumerCounters", "ConsumerStats"]


@dataclass(frozen=True, slots=True)
class ConsumerStats:
    """A snapshot of what a :class:`SpanConsumer` has done since it was created.

    Attributes:
        records_consumed: Kafka records read (spans and bad records).
        spans_delivered: span records handed to the application (iteration or batches);
            event records are not spans and are not counted here.
        events_delivered: event records handed to the application (a topic may carry both).
        duplicate_spans: delivered spans whose span id was already delivered within the
            duplicate window (redeliveries after a crash or rebalance; at-least-once).
        duplicates_dropped: of those, how many were dropped (``drop_duplicates=True``).
        bad_records: records that did not decode as a span, whatever the policy.
        bad_records_by_reason: the same, by :attr:`DecodeError.reason`.
        dead_lettered: bad records the broker acknowledged on the dead-letter topic (whole, or
            as metadata only).
        dead_letter_metadata_only: of those, the records that could never be written whole
            (too large for the topic, ...): their metadata-only copy was written instead.
        dead_letter_dropped: bad records not even a metadata-only copy of which could be
            written (the dead-letter topic refuses every write); skipped, and logged.
        dead_letter_failures: attempts to dead-letter that failed (retried on the next poll).
        commits: successful offset commits made by the consumer itself (explicit, on revoke,
            on close); librdkafka's interval commits are not counted.
        commit_failures: commits that failed.
        partitions_assigned: partitions assigned to this consumer, over all rebalances.
        partitions_revoked: partitions revoked (or lost), over all rebalances.
        kafka_errors: non-fatal errors librdkafka reported while consuming (the dead-letter
            producer's included).
    """

    records_consumed: int = 0
    spans_delivered: int = 0
    events_delivered: int = 0
    duplicate_spans: int = 0
    duplicates_dropped: int = 0
    bad_records: int = 0
    bad_records_by_reason: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    dead_lettered: int = 0
    dead_letter_failures: int = 0
    dead_letter_metadata_only: int = 0
    dead_letter_dropped: int = 0
    commits: int = 0
    commit_failures: int = 0
    partitions_assigned: int = 0
    partitions_revoked: int = 0
    kafka_errors: int = 0


# Every count of ConsumerStats but the two derived from bad_records_by_reason.
_COUNTS: Final = tuple(
    f.name for f in fields(ConsumerStats) if f.name not in ("bad_records", "bad_records_by_reason")
)


class ConsumerCounters:
    """The mutable counters behind :class:`ConsumerStats` (one consumer, one thread).

    One ``int`` per count of :class:`ConsumerStats` (its fields are the list: a count added
    there is a slot here, zeroed here; annotate it below for the type checker), and
    ``bad_records_by_reason``.
    """

    __slots__ = (*_COUNTS, "bad_records_by_reason")

    records_consumed: int
    spans_delivered: int
    events_delivered: int
    duplicate_spans: int
    duplicates_dropped: int
    dead_lettered: int
    dead_letter_failures: int
    dead_letter_metadata_only: int
    dead_letter_dropped: int
    commits: int
    commit_failures: int
    partitions_assigned: int
    partitions_revoked: int
    kafka_errors: int

    def __init__(self) -> None:
        for name in _COUNTS:
            setattr(self, name, 0)
        self.bad_records_by_reason: Counter[str] = Counter()

    def snapshot(self) -> ConsumerStats:
        """Return the counters as an immutable :class:`ConsumerStats`."""
        by_reason = dict(self.bad_records_by_reason)
        return ConsumerStats(
            **{name: getattr(self, name) for name in _COUNTS},
            bad_records=sum(by_reason.values()),
            bad_records_by_reason=MappingProxyType(by_reason),
        )
