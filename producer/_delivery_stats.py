"""What a reporter did with the items it was given: read-only snapshots.

:class:`ReporterCounts` holds what every reporter counts at the door (the OTLP reporters'
``OtlpReporterStats`` starts with it too); :class:`KafkaReporterStats` is the Kafka reporters'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

__all__ = ["DROP_REASONS", "KafkaReporterStats", "ReporterCounts", "empty_counts"]

DROP_REASONS: Final = ("queue-full", "too-large", "encode-error", "closed")
"""Why a span can be dropped: the hand-off queue was full (the overflow policy decided), its
record exceeds the size the topic takes, the codec refused it, or the reporter was closed."""


def empty_counts() -> Mapping[str, int]:
    """A read-only empty mapping: the default of a snapshot's counts by reason."""
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ReporterCounts:
    """What a reporter counts at the door: every item given to it is accepted or rejected once.

    Attributes:
        notified: items given to the reporter (``notified == accepted + rejected``).
        accepted: items taken into the hand-off queue.
        rejected: items dropped before they were accepted.
    """

    notified: int = 0
    accepted: int = 0
    rejected: int = 0


@dataclass(frozen=True, slots=True)
class KafkaReporterStats(ReporterCounts):
    """A snapshot of a Kafka trace reporter's counters (see ``KafkaTraceReporter.snapshot``).

    ``KafkaEventReporter.snapshot`` returns the same counters for events (read "event" for
    "span" and ``notify_of_added_event`` for ``notify_of_added_span``): both run on one sender.

    Every span given to ``notify_of_added_span`` is counted exactly once as one of: *rejected*
    at the door (dropped before it was accepted: ``queue-full`` under ``drop-newest``, or
    ``closed``), or *accepted*; and every accepted span ends as exactly one of delivered, failed,
    dropped after acceptance (``too-large``, ``encode-error``, ``queue-full`` evicted under
    ``drop-oldest``, ``closed`` still queued at close) or is still pending. So, at any moment::

        notified == accepted + rejected
        accepted == delivered + failed_total + (dropped_total - rejected) + pending

    Attributes:
        notified: calls of ``notify_of_added_span``.
        accepted: spans taken into the hand-off queue.
        rejected: spans dropped before they were accepted (included in ``dropped``).
        delivered: spans the broker acknowledged (with the configured ``acks``, ``all`` by
            default).
        delivered_bytes: the encoded bytes (record values) of the delivered spans.
        failed: spans librdkafka reported as failed, by error code name (e.g.
            ``MSG_SIZE_TOO_LARGE``, ``_MSG_TIMED_OUT``, ``TOPIC_AUTHORIZATION_FAILED``).
        dropped: spans dropped by reason (see :data:`DROP_REASONS`), before or after acceptance.
        pending: accepted spans with no outcome yet (queued, being encoded, or in flight).
        queued: of ``pending``, spans still in the hand-off queue (not yet encoded).
        in_flight: of ``pending``, records handed to librdkafka and awaiting their delivery report.
        client_errors: errors librdkafka reported about the connection, not about one span
            (e.g. ``_ALL_BROKERS_DOWN``, ``_TRANSPORT``, ``SASL_AUTHENTICATION_FAILED``), by name.
    """

    delivered: int = 0
    delivered_bytes: int = 0
    failed: Mapping[str, int] = field(default_factory=empty_counts)
    dropped: Mapping[str, int] = field(default_factory=empty_counts)
    pending: int = 0
    queued: int = 0
    in_flight: int = 0
    client_errors: Mapping[str, int] = field(default_factory=empty_counts)

    @property
    def failed_total(self) -> int:
        """All failed spans, whatever the error."""
        return sum(self.failed.values())

    @property
    def dropped_total(self) -> int:
        """All dropped spans, whatever the reason (rejected ones included)."""
        return sum(self.dropped.values())

    @property
    def dropped_after_accept(self) -> int:
        """Dropped spans that had been accepted first."""
        return self.dropped_total - self.rejected
