"""Reporters that keep spans or events in memory: the testing helpers shipped in the package.

Like ``structlog.testing.capture_logs`` or OpenTelemetry's ``InMemorySpanExporter``: point a
registry at one and assert on what was reported.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Generic, TypeVar

from spanstream.producer._config import MetricConfig
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import Event, Span

__all__ = [
    "InMemoryEventReporter",
    "InMemoryEventReporterFactory",
    "InMemoryTraceReporter",
    "InMemoryTraceReporterFactory",
]

_T = TypeVar("_T", Span, Event)


class _InMemoryReporter(Generic[_T]):
    """What the span and event in-memory reporters share: the bounded list and its lifecycle.

    A subclass names its bound (``max.spans`` or ``max.events``) and adds Flink's
    ``notify_of_added_*`` method (its body written out: the caller's path makes no other call).
    """

    __slots__ = ("_closed", "_discarded", "_items", "_lock", "_max_items", "config")

    _max_key = "max.items"

    def __init__(self, max_items: int) -> None:
        self._items: list[_T] = []
        self._lock = threading.Lock()
        self._max_items = max_items
        self._discarded = 0
        self._closed = False
        self.config: MetricConfig | None = None
        """The configuration given to :meth:`open` (``None`` if it was never opened)."""

    def open(self, config: MetricConfig) -> None:
        """Keep ``config`` and read the bound (``max.spans`` or ``max.events``)."""
        self.config = config
        self._max_items = config.get_int(self._max_key, self._max_items, minimum=0)

    def close(self) -> None:
        """Mark the reporter closed; what it kept stays readable, later items are ignored."""
        self._closed = True

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def discarded(self) -> int:
        """How many items were discarded because of the bound (``max.spans``/``max.events``)."""
        return self._discarded

    def clear(self) -> None:
        """Forget every item reported so far."""
        with self._lock:
            self._items.clear()
            self._discarded = 0

    def _kept(self) -> tuple[_T, ...]:
        with self._lock:
            return tuple(self._items)  # one C-level copy: consistent even without the lock


class InMemoryTraceReporter(_InMemoryReporter[Span]):
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

    __slots__ = ()

    _max_key = "max.spans"

    def __init__(self, *, max_spans: int = 0) -> None:
        super().__init__(max_spans)

    def notify_of_added_span(self, span: Span) -> None:
        """Keep the span."""
        if self._closed:
            return
        if not self._max_items:
            self._items.append(span)  # list.append is atomic under the GIL
            return
        with self._lock:
            self._items.append(span)
            if len(self._items) > self._max_items:
                del self._items[0]
                self._discarded += 1

    @property
    def spans(self) -> tuple[Span, ...]:
        """A snapshot of the spans reported so far, oldest first."""
        return self._kept()

    def spans_named(self, name: str) -> tuple[Span, ...]:
        """The spans reported so far whose name is ``name``."""
        return tuple(span for span in self._kept() if span.name == name)


class InMemoryTraceReporterFactory:
    """Creates :class:`InMemoryTraceReporter`; entry point ``in_memory``."""

    reporter_keys = ReporterKeys(frozenset({"max.spans"}))
    """The reporter's one parameter; any other key is a configuration error."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> InMemoryTraceReporter:
        """Return a new in-memory reporter."""
        return InMemoryTraceReporter()


class InMemoryEventReporter(_InMemoryReporter[Event]):
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

    __slots__ = ()

    _max_key = "max.events"

    def __init__(self, *, max_events: int = 0) -> None:
        super().__init__(max_events)

    def notify_of_added_event(self, event: Event) -> None:
        """Keep the event."""
        if self._closed:
            return
        with self._lock:
            self._items.append(event)
            if self._max_items and len(self._items) > self._max_items:
                del self._items[0]
                self._discarded += 1

    @property
    def events(self) -> tuple[Event, ...]:
        """A snapshot of the events reported so far, oldest first."""
        return self._kept()

    def events_named(self, name: str) -> tuple[Event, ...]:
        """The events reported so far whose name is ``name``."""
        return tuple(event for event in self._kept() if event.name == name)


class InMemoryEventReporterFactory:
    """Creates :class:`InMemoryEventReporter`; entry point ``in_memory``."""

    reporter_keys = ReporterKeys(frozenset({"max.events"}))
    """The reporter's one parameter; any other key is a configuration error."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> InMemoryEventReporter:
        """Return a new in-memory event reporter."""
        return InMemoryEventReporter()
