"""The Kafka sender's delivery accounting: every counter in one object, one writer each.

Two kinds of writer share it. Callers (the application's threads) count what they reject and
what the overflow policy evicts, on the rare path, under the sender's lock. The sender thread
is the only writer of everything else (taken, produced, reported, delivered, failed, dropped,
client errors), so its hot loop needs no lock. :meth:`SenderCounters.snapshot` reads outcomes
before the queue and the queue before what was taken, so a snapshot never shows a record with
an outcome that was not yet counted as accepted.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from types import MappingProxyType

from spanstream.producer._delivery_stats import KafkaReporterStats

__all__ = ["SenderCounters"]


def _frozen(counts: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counts.items())))


class SenderCounters:
    """What became of every record a sender was given, as plain counters.

    Attributes:
        rejected: records refused at the door, by reason (callers write it, under the lock).
        evicted: queued records evicted by ``drop-oldest`` (callers, under the lock).
        discarded: records left in the queue of a closed sender (callers, under the lock).
        taken: records the sender thread took from the queue.
        produced: records librdkafka accepted; ``produced_bytes`` their values' bytes.
        reported: records with a failure report (failed, or purged at close), and their bytes.
        delivered: derived by :meth:`settle`; a lower bound that only grows, and its bytes.
        failed: records librdkafka reported as failed, by error name.
        dropped: records the sender dropped after taking them, by reason.
        client_errors: librdkafka's errors about the connection, by name.
    """

    __slots__ = (
        "client_errors",
        "delivered",
        "delivered_bytes",
        "discarded",
        "dropped",
        "evicted",
        "failed",
        "produced",
        "produced_bytes",
        "rejected",
        "reported",
        "reported_bytes",
        "taken",
    )

    def __init__(self) -> None:
        self.rejected: Counter[str] = Counter()
        self.evicted = 0
        self.discarded = 0
        self.taken = 0
        self.produced = 0
        self.produced_bytes = 0
        self.reported = 0
        self.reported_bytes = 0
        self.delivered = 0
        self.delivered_bytes = 0
        self.failed: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self.client_errors: Counter[str] = Counter()

    def settle(self, holding: int) -> None:
        """Derive the delivered count (and bytes) after ``poll`` served the failure reports.

        ``holding`` is ``len(producer)``: librdkafka counts a record until it destroys it, after
        its acknowledgement (no report asked) or after its failure report was served and counted
        in ``reported``. So ``produced - reported - holding`` never counts a record twice or too
        early.
        """
        delivered = self.produced - self.reported - holding
        self.delivered = max(self.delivered, delivered)
        if holding == 0:
            self.delivered_bytes = self.produced_bytes - self.reported_bytes
        elif self.delivered:
            # Records in flight: their share of the produced bytes, by the mean record size.
            settled_bytes = self.produced_bytes - self.reported_bytes
            settled = self.produced - self.reported
            estimate = settled_bytes * self.delivered // settled if settled > 0 else 0
            self.delivered_bytes = max(self.delivered_bytes, estimate)

    def in_flight(self) -> bool:
        """Whether records handed to librdkafka still await their outcome."""
        return self.produced != self.reported + self.delivered

    def pending(self, queued: int) -> int:
        """Records accepted and without an outcome yet, ``queued`` of them still in the queue."""
        # Accepted less every outcome; evictions and discards are left out of both sides.
        outcomes = self.delivered + self.failed.total() + self.dropped.total()
        return queued + self.taken - outcomes

    def snapshot(self, lock: threading.Lock, queue: deque[object]) -> KafkaReporterStats:
        """Return the counters now (see :class:`KafkaReporterStats` for their invariant)."""
        # Outcomes first, then the queue, then what the sender took: every outcome read here
        # belongs to a record counted as accepted below, so ``pending`` is never negative.
        delivered = self.delivered
        delivered_bytes = self.delivered_bytes
        failed = dict(self.failed)
        dropped_after = dict(self.dropped)
        reported = self.reported
        with lock:
            rejected = dict(self.rejected)
            evicted = self.evicted
            discarded = self.discarded
            queued = len(queue)
        taken = self.taken
        produced = self.produced
        accepted = taken + queued + evicted + discarded
        dropped = Counter(rejected)
        dropped.update(dropped_after)
        if evicted:
            dropped["queue-full"] += evicted
        if discarded:
            dropped["closed"] += discarded
        outcomes = delivered + sum(failed.values()) + sum(dropped_after.values()) + evicted
        outcomes += discarded
        rejected_total = sum(rejected.values())
        return KafkaReporterStats(
            notified=accepted + rejected_total,
            accepted=accepted,
            rejected=rejected_total,
            delivered=delivered,
            delivered_bytes=delivered_bytes,
            failed=_frozen(failed),
            dropped=_frozen(dropped),
            pending=max(0, accepted - outcomes),
            queued=queued,
            in_flight=max(0, produced - reported - delivered),
            client_errors=_frozen(dict(self.client_errors)),
        )
