"""Reporters that keep spans or events in memory: the testing helpers shipped in the package.

Like ``structlog.testing.capture_logs`` or OpenTelemetry's ``InMemorySpanExporter``: point a
registry at one and assert on what was reported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from spanstream.producer._config import MetricConfig
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import Event, Span

__all__ = [
    "InMemoryEventReporter",
    "InMemoryEventReporterFactory",
    "InMemoryTraceReporter",
    "InMemoryTraceReporterFactory",
]


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

    reporter_keys = ReporterKeys(frozenset({"max.spans"}))
    """The reporter's one parameter; any other key is a configuration error."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> InMemoryTraceReporter:
        """Return a new in-memory reporter."""
        return InMemoryTraceReporter()


class InMemoryEventReporter:
    """Collects every reported event, in arrival order. Safe to use from many threads.

    Parameter (under ``events.reporter.<name>.``): ``max.events`` (default 0, unbounded); when
    set, the oldest events are discarded beyond it and counted in :attr:`discarded`.

    Example:
        >>> from spanstream.schemas import Event
        >>> reporter = InMemoryEventReporter()
        >>> reporter.notify_of_added_event(Event.builder("app.Job", "Rescaled").build())
        >>> [event.name for event in reporter.events]
        ['Rescaled']
    """

    __slots__ = ("_closed", "_discarded", "_events", "_lock", "_max_events", "config")

    def __init__(self, *, max_events: int = 0) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._max_events = max_events
        self._discarded = 0
        self._closed = False
        self.config: MetricConfig | None = None
        """The configuration given to :meth:`open` (``None`` if it was never opened)."""

    def open(self, config: MetricConfig) -> None:
        """Keep ``config`` and read ``max.events``."""
        self.config = config
        self._max_events = config.get_int("max.events", self._max_events, minimum=0)

    def close(self) -> None:
        """Mark the reporter closed; the events stay readable, later ones are ignored."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def notify_of_added_event(self, event: Event) -> None:
        """Keep the event."""
        if self._closed:
            return
        with self._lock:
            self._events.append(event)
            if self._max_events and len(self._events) > self._max_events:
                del self._events[0]
                self._discarded += 1

    @property
    def events(self) -> tuple[Event, ...]:
        """A snapshot of the events reported so far, oldest first."""
        with self._lock:
            return tuple(self._events)

    @property
    def discarded(self) -> int:
        """How many events were discarded because of ``max.events``."""
        return self._discarded

    def events_named(self, name: str) -> tuple[Event, ...]:
        """The events reported so far whose name is ``name``."""
        return tuple(event for event in self.events if event.name == name)

    def clear(self) -> None:
        """Forget every event reported so far."""
        with self._lock:
            self._events.clear()
            self._discarded = 0


class InMemoryEventReporterFactory:
    """Creates :class:`InMemoryEventReporter`; entry point ``in_memory``."""

    reporter_keys = ReporterKeys(frozenset({"max.events"}))
    """The reporter's one parameter; any other key is a configuration error."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> InMemoryEventReporter:
        """Return a new in-memory event reporter."""
        return InMemoryEventReporter()
