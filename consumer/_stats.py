"""The consumer's counters, and the frozen snapshot the application reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

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


class ConsumerCounters:
    """The mutable counters behind :class:`ConsumerStats` (one consumer, one thread)."""

    __slots__ = (
        "bad_records_by_reason",
        "commit_failures",
        "commits",
        "dead_letter_dropped",
        "dead_letter_failures",
        "dead_letter_metadata_only",
        "dead_lettered",
        "duplicate_spans",
        "duplicates_dropped",
        "events_delivered",
        "kafka_errors",
        "partitions_assigned",
        "partitions_revoked",
        "records_consumed",
        "spans_delivered",
    )

    def __init__(self) -> None:
        self.records_consumed = 0
        self.spans_delivered = 0
        self.events_delivered = 0
        self.duplicate_spans = 0
        self.duplicates_dropped = 0
        self.bad_records_by_reason: Counter[str] = Counter()
        self.dead_lettered = 0
        self.dead_letter_failures = 0
        self.dead_letter_metadata_only = 0
        self.dead_letter_dropped = 0
        self.commits = 0
        self.commit_failures = 0
        self.partitions_assigned = 0
        self.partitions_revoked = 0
        self.kafka_errors = 0

    def snapshot(self) -> ConsumerStats:
        """Return the counters as an immutable :class:`ConsumerStats`."""
        return ConsumerStats(
            records_consumed=self.records_consumed,
            spans_delivered=self.spans_delivered,
            events_delivered=self.events_delivered,
            duplicate_spans=self.duplicate_spans,
            duplicates_dropped=self.duplicates_dropped,
            bad_records=sum(self.bad_records_by_reason.values()),
            bad_records_by_reason=MappingProxyType(dict(self.bad_records_by_reason)),
            dead_lettered=self.dead_lettered,
            dead_letter_failures=self.dead_letter_failures,
            dead_letter_metadata_only=self.dead_letter_metadata_only,
            dead_letter_dropped=self.dead_letter_dropped,
            commits=self.commits,
            commit_failures=self.commit_failures,
            partitions_assigned=self.partitions_assigned,
            partitions_revoked=self.partitions_revoked,
            kafka_errors=self.kafka_errors,
        )
