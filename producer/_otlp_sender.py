"""A bounded, non-blocking hand-off from the reporting thread to one OTLP export thread.

``offer`` (the application's thread) appends to a bounded ``deque`` under a short lock and
returns; when the queue is full the item is dropped and counted ``queue-full``. One daemon
thread per sender takes up to ``batch_max`` items, converts and exports them (the exporter's own
retries included) and counts each batch exported or failed. ``close`` exports what is queued
within its deadline and counts the rest ``closed``; a sender still open at interpreter exit is
closed by an ``atexit`` hook, and one inherited by a ``fork()`` child is closed there (its
thread does not exist in the child): the Kafka senders' hooks (``_sender_exit``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Generic, TypeVar

from spanstream.producer._delivery_stats import ReporterCounts, empty_counts
from spanstream.producer._sender_exit import forget, remember

__all__ = ["OTLP_DROP_REASONS", "OtlpQueueLimits", "OtlpReporterStats", "OtlpSender"]

OTLP_DROP_REASONS: Final = ("queue-full", "closed")
"""Why an item is dropped before export: the hand-off queue was full, or the reporter closed."""

_LOG: Final = logging.getLogger("spanstream.producer")
_LOG_INTERVAL_S: Final = 10.0
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class OtlpReporterStats(ReporterCounts):
    """A snapshot of an OTLP reporter's counters.

    Every item (a span tree, or an event) given to the reporter is counted once as dropped
    before it was queued, or accepted; every accepted item ends as exported, failed (its batch's
    export failed after the exporter's retries) or dropped ``closed``, or is still pending::

        notified == accepted + rejected
        accepted == exported + failed + (dropped_total - rejected) + pending

    Attributes:
        notified: items given to the reporter.
        accepted: items taken into the hand-off queue.
        rejected: items dropped before they were accepted (included in ``dropped``).
        exported: items the OTLP endpoint accepted.
        failed: items whose export failed.
        dropped: items dropped by reason (see :data:`OTLP_DROP_REASONS`).
        pending: accepted items with no outcome yet.
        last_error: the latest export failure or conversion error, or ``None``.
    """

    exported: int = 0
    failed: int = 0
    dropped: Mapping[str, int] = field(default_factory=empty_counts)
    pending: int = 0
    last_error: str | None = None

    @property
    def dropped_total(self) -> int:
        """All dropped items, whatever the reason."""
        return sum(self.dropped.values())


@dataclass(frozen=True, slots=True)
class OtlpQueueLimits:
    """How an :class:`OtlpSender` queues and batches (an OTLP reporter reads them from its keys).

    Attributes:
        queue_max: the most items waiting at once.
        batch_max: the most items exported in one request.
        delay_s: how long the thread waits for a batch to fill before exporting what it has.
        close_timeout_s: how long :meth:`OtlpSender.close` exports what is queued, by default
            (and at interpreter exit).
    """

    queue_max: int
    batch_max: int
    delay_s: float
    close_timeout_s: float = 10.0


class OtlpSender(Generic[_T]):
    """The queue and export thread an OTLP reporter owns (see the module docstring).

    Args:
        name: names the thread and log lines.
        export: converts and exports one batch; returns whether the endpoint accepted it. It
            runs on the export thread only; an exception counts the batch failed.
        limits: the queue's and batches' bounds and the default close deadline.
        shutdown: releases the exporter once the thread has finished.
    """

    __slots__ = (
        "__weakref__",
        "_batch_max",
        "_close_timeout_s",
        "_closed",
        "_closed_queued",
        "_delay_s",
        "_export",
        "_exported",
        "_failed",
        "_last_error",
        "_last_log_s",
        "_lock",
        "_name",
        "_notified",
        "_queue",
        "_queue_max",
        "_rejected_closed",
        "_rejected_full",
        "_shutdown",
        "_thread",
        "_wake",
    )

    def __init__(
        self,
        name: str,
        export: Callable[[list[_T]], bool],
        limits: OtlpQueueLimits,
        *,
        shutdown: Callable[[], None],
    ) -> None:
        self._name = name
        self._export = export
        self._shutdown = shutdown
        # Read on every offer and batch: kept as plain attributes, not looked up in ``limits``.
        self._queue_max = limits.queue_max
        self._batch_max = limits.batch_max
        self._delay_s = limits.delay_s
        self._close_timeout_s = limits.close_timeout_s
        self._queue: deque[_T] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._notified = 0
        self._rejected_full = 0  # dropped before acceptance: the queue was full
        self._rejected_closed = 0  # dropped before acceptance: offered after close
        self._closed_queued = 0  # accepted, then dropped: still queued at close
        self._exported = 0
        self._failed = 0
        self._last_error: str | None = None
        self._last_log_s = -_LOG_INTERVAL_S
        self._thread = threading.Thread(target=self._run, name=f"otlp-{name}", daemon=True)
        self._thread.start()
        remember(self)

    def offer(self, item: _T) -> None:
        """Queue ``item`` for export, or count it dropped. Never blocks, never raises."""
        with self._lock:
            self._notified += 1
            if self._closed:
                self._rejected_closed += 1
                return
            if len(self._queue) >= self._queue_max:
                self._rejected_full += 1
                full = True
            else:
                self._queue.append(item)
                full = False
        if full:
            self._log_drop()
        elif len(self._queue) >= self._batch_max:
            self._wake.set()

    def flush(self, timeout_s: float) -> int:
        """Wait until what is queued now was exported (or failed); return how many still wait."""
        deadline = time.monotonic() + timeout_s
        self._wake.set()
        while self._pending() and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return self._pending()

    def close(self, timeout_s: float | None = None) -> int:
        """Export what is queued within ``timeout_s``, drop the rest; return how many dropped.

        ``timeout_s`` defaults to the sender's ``close_timeout_s``.
        """
        with self._lock:
            if self._closed:
                return 0
            self._closed = True
        forget(self)
        self._wake.set()
        self._thread.join(self._close_timeout_s if timeout_s is None else timeout_s)
        with self._lock:
            left = len(self._queue)
            self._queue.clear()
            self._closed_queued += left
        if not self._thread.is_alive():
            self._shutdown_quietly()
        return left

    def snapshot(self) -> OtlpReporterStats:
        """The counters now (see :class:`OtlpReporterStats`)."""
        with self._lock:
            rejected = self._rejected_full + self._rejected_closed
            dropped = {
                "queue-full": self._rejected_full,
                "closed": self._rejected_closed + self._closed_queued,
            }
            accepted = self._notified - rejected
            return OtlpReporterStats(
                notified=self._notified,
                accepted=accepted,
                rejected=rejected,
                exported=self._exported,
                failed=self._failed,
                dropped=MappingProxyType({k: v for k, v in dropped.items() if v}),
                pending=accepted - self._exported - self._failed - self._closed_queued,
                last_error=self._last_error,
            )

    # -- the export thread --------------------------------------------------------------------

    def _pending(self) -> int:
        with self._lock:
            accepted = self._notified - self._rejected_full - self._rejected_closed
            return accepted - self._exported - self._failed - self._closed_queued

    def _run(self) -> None:
        while True:
            if len(self._queue) < self._batch_max and not self._closed:
                self._wake.wait(self._delay_s)
                self._wake.clear()
            with self._lock:
                size = min(self._batch_max, len(self._queue))
                batch = [self._queue.popleft() for _ in range(size)]
                stopping = self._closed
            if batch:
                self._export_batch(batch)
            elif stopping:
                return

    def _export_batch(self, batch: list[_T]) -> None:
        try:
            ok = self._export(batch)
            error = None if ok else "the OTLP endpoint did not accept the export"
        except Exception as exc:  # noqa: BLE001 - a failed batch is counted, never raised
            ok = False
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if ok:
                self._exported += len(batch)
            else:
                self._failed += len(batch)
                self._last_error = error
        if not ok:
            self._log_failure(len(batch), error)

    def _log_failure(self, count: int, error: str | None) -> None:
        now = time.monotonic()
        if now - self._last_log_s >= _LOG_INTERVAL_S:
            self._last_log_s = now
            _LOG.warning("OTLP reporter %r: %d items not exported: %s", self._name, count, error)

    def _log_drop(self) -> None:
        now = time.monotonic()
        if now - self._last_log_s >= _LOG_INTERVAL_S:
            self._last_log_s = now
            _LOG.warning(
                "OTLP reporter %r: queue full (%d), dropping (counted as queue-full)",
                self._name,
                self._queue_max,
            )

    def _shutdown_quietly(self) -> None:
        try:
            self._shutdown()
        except Exception:  # noqa: BLE001 - closing must not raise into the application
            _LOG.debug("OTLP reporter %r: exporter shutdown failed", self._name, exc_info=True)

    def after_fork_in_child(self) -> None:
        """Become closed without exporting: ``_sender_exit``'s hook in a forked child.

        The export thread does not exist there, and what the parent queued is the parent's.
        """
        with self._lock:
            self._closed = True
            self._closed_queued += len(self._queue)
            self._queue.clear()

    def log_exit(self, pending: int | None) -> None:
        """Log what the exit hook's close left (``None``: the close raised; in its handler)."""
        if pending is None:
            _LOG.exception("OTLP reporter %r: closing at exit failed", self._name)
        elif pending:
            _LOG.warning(
                "OTLP reporter %r: %d items not exported at exit (counted as closed)",
                self._name,
                pending,
            )
