"""Errors specific to consuming (the shared ones live in ``spanstream.schemas``)."""

from __future__ import annotations

from spanstream.schemas import BrokerError, DecodeError, SpanstreamError

__all__ = ["CommitError", "CommitUnansweredError", "ConsumerClosedError", "DeadLetterError"]


class CommitError(SpanstreamError, RuntimeError):
    """Committing processed offsets failed; they are retried by the next commit.

    Nothing is lost: uncommitted records are delivered again (at-least-once).
    """


class CommitUnansweredError(CommitError, BrokerError):
    """No broker answered a commit (none reachable, or none within ``broker_timeout_s``).

    Both a :class:`CommitError` (the offsets stay stored and are retried by the next commit)
    and a :class:`~spanstream.schemas.BrokerError` (the message names the servers).
    """


class ConsumerClosedError(SpanstreamError, RuntimeError):
    """The consumer was used after :meth:`SpanConsumer.close`."""


class DeadLetterError(SpanstreamError, RuntimeError):
    """A bad record could not be written to the dead-letter topic.

    The record is not committed past: the next poll tries again. ``error`` is the bad
    record's :class:`~spanstream.schemas.DecodeError` (with its origin and raw bytes).
    """

    def __init__(self, message: str, *, error: DecodeError) -> None:
        self.error = error
        super().__init__(message)
