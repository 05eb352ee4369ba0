"""The reporter plugin interfaces: Flink's trace and event reporters and their factories.

A factory may also declare the parameters its reporter accepts, as a :class:`ReporterKeys`
in a ``reporter_keys`` attribute; the registry then rejects any other key under
``traces.reporter.<name>.`` / ``events.reporter.<name>.`` with a :class:`ConfigError` that names
the closest known key. A factory without ``reporter_keys`` gets every key (as in Flink).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from spanstream.producer._config import MetricConfig
from spanstream.schemas import ConfigError, Event, Span

__all__ = [
    "HIDDEN_VALUE",
    "EventReporter",
    "EventReporterFactory",
    "ReporterKeys",
    "TraceReporter",
    "TraceReporterFactory",
]


HIDDEN_VALUE = "***"
"""What an error about an unknown key shows instead of its value."""


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


@runtime_checkable
class EventReporter(Protocol):
    """Receives every event a :class:`MetricGroup` reports, after the reporter's filter.

    Flink's ``EventReporter``: the same contract as :class:`TraceReporter`, for events.
    """

    def open(self, config: MetricConfig) -> None:
        """Configure the reporter and start whatever it needs."""

    def close(self) -> object:
        """Release everything; events notified afterwards are dropped."""

    def notify_of_added_event(self, event: Event) -> None:
        """Take one finished event. Never blocks, never raises."""


@runtime_checkable
class EventReporterFactory(Protocol):
    """Creates an event reporter; named by ``events.reporter.<name>.factory.class``."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> EventReporter:
        """Return a new, not yet opened, reporter."""


@dataclass(frozen=True, slots=True)
class ReporterKeys:
    """The parameters a reporter accepts, declared by its factory's ``reporter_keys``.

    Attributes:
        keys: the exact parameter names (``topic``, ``queue.max.spans``).
        prefixes: parameter prefixes passed through whole (``producer.`` for the librdkafka
            properties the Kafka reporter hands on unchecked).

    Example:
        >>> keys = ReporterKeys(frozenset({"topic"}), prefixes=("producer.",))
        >>> keys.check({"topik": "x"}, prefix="traces.reporter.kafka.")
        Traceback (most recent call last):
        ...
        spanstream.schemas._errors.ConfigError: traces.reporter.kafka.topik: '***' is not \
accepted; expected a parameter this reporter knows: did you mean 'topic'? (known: topic, producer.*)
    """

    keys: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def accepts(self, key: str) -> bool:
        """Whether ``key`` (without the reporter's prefix) is one of the reporter's."""
        return key in self.keys or any(
            key.startswith(prefix) and len(key) > len(prefix) for prefix in self.prefixes
        )

    def check(self, parameters: Mapping[str, object], *, prefix: str) -> None:
        """Raise for the first key of ``parameters`` the reporter does not accept.

        Raises:
            ConfigError: naming the full key, the closest known key and every known one. The
                value is not shown: the key is what is wrong, and a misspelled credential key
                (``sasl.pasword``) would not be recognised as one.
        """
        for key in parameters:
            if not self.accepts(key):
                raise ConfigError(prefix + key, HIDDEN_VALUE, self._expected(key))

    def _expected(self, key: str) -> str:
        candidates = sorted(self.keys) + [f"{p}{key.partition('.')[2]}" for p in self.prefixes]
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        known = ", ".join([*sorted(self.keys), *(f"{p}*" for p in self.prefixes)]) or "none"
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"a parameter this reporter knows: {hint}(known: {known})"
