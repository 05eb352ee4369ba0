"""The reporter plugin interfaces: Flink's ``TraceReporter`` and ``TraceReporterFactory``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from spanstream.producer._config import MetricConfig
from spanstream.schemas import Span

__all__ = ["TraceReporter", "TraceReporterFactory"]


@runtime_checkable
class TraceReporter(Protocol):
    """Receives every span a :class:`MetricGroup` reports, after the reporter's filter.

    ``notify_of_added_span`` is called on the application's thread: it must return quickly and
    must not raise (the group counts and logs an exception if it does, but a reporter that
    raises has already cost the caller time).
    """

    def open(self, config: MetricConfig) -> None:
        """Configure the reporter and start whatever it needs."""

    def close(self) -> object:
        """Release everything; spans notified afterwards are dropped and counted.

        The result is the reporter's own (the Kafka reporter returns how many spans were still
        pending); callers of the protocol ignore it.
        """

    def notify_of_added_span(self, span: Span) -> None:
        """Take one finished span. Never blocks, never raises."""


@runtime_checkable
class TraceReporterFactory(Protocol):
    """Creates a reporter; named by ``traces.reporter.<name>.factory.class``."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> TraceReporter:
        """Return a new, not yet opened, reporter."""
