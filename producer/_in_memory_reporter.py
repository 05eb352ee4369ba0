"""A reporter that keeps spans in memory: the testing helper shipped in the package.

Like ``structlog.testing.capture_logs`` or OpenTelemetry's ``InMemorySpanExporter``: point a
registry at it and assert on what was reported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from spanstream.producer._config import MetricConfig
from spanstream.schemas import Span

__all__ = ["InMemoryTraceReporter", "InMemoryTraceReporterFactory"]


class InMemoryTraceReporter:
    """Collects every reported span, in arrival order. Safe to use from many threads.

    Parameter (under ``traces.reporter.<name>.``): ``max.spans`` (default 0, unbounded); when
    set, the oldest spans are discarded beyond it and counted in :attr:`discarded`.

    Example:
        >>> from spanstream.schemas import Span
        >>> reporter = InMemoryTraceReporter()
        >>> reporter.notify_of_added_span(Span.builder("app.Job", "Load").build())
        >>> [span.name for span in reporter.spans]
        ['Load']
    """

    __slots__ = ("_closed", "_discarded", "_lock", "_max_spans", "_spans", "config")

    def __init__(self, *, max_spans: int = 0) -> None:
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self._max_spans = max_spans
        self._discarded = 0
        self._closed = False
        self.config: MetricConfig | None = None
        """The configuration given to :meth:`open` (``None`` if it was never opened)."""

    def open(self, config: MetricConfig) -> None:
        """Keep ``config`` and read ``max.spans``."""
        self.config = config
        self._max_spans = config.get_int("max.spans", self._max_spans, minimum=0)

    def close(self) -> None:
        """Mark the reporter closed; the spans stay readable, later ones are ignored."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def notify_of_added_span(self, span: Span) -> None:
        """Keep the span."""
        if self._closed:
            return
        if not self._max_spans:
            self._spans.append(span)  # list.append is atomic under the GIL
            return
        with self._lock:
            self._spans.append(span)
            if len(self._spans) > self._max_spans:
                del self._spans[0]
                self._discarded += 1

    @property
    def spans(self) -> tuple[Span, ...]:
        """A snapshot of the spans reported so far, oldest first."""
        with self._lock:
            return tuple(self._spans)  # one C-level copy: consistent even without the lock

    @property
    def discarded(self) -> int:
        """How many spans were discarded because of ``max.spans``."""
        return self._discarded

    def spans_named(self, name: str) -> tuple[Span, ...]:
        """The spans reported so far whose name is ``name``."""
        return tuple(span for span in self.spans if span.name == name)

    def clear(self) -> None:
        """Forget every span reported so far."""
        with self._lock:
            self._spans.clear()
            self._discarded = 0


class InMemoryTraceReporterFactory:
    """Creates :class:`InMemoryTraceReporter`; entry point ``in_memory``."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> InMemoryTraceReporter:
        """Return a new in-memory reporter."""
        return InMemoryTraceReporter()
