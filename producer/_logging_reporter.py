"""Flink's ``Slf4jTraceReporter`` and ``Slf4jEventReporter`` on the standard library's logging.

Parameters (under ``traces.reporter.<name>.`` or ``events.reporter.<name>.``), all optional
extensions of Flink's option-less reporters:

- ``logger``: the logger's name (``spanstream.traces`` / ``spanstream.events``);
- ``level``: ``DEBUG``, ``INFO`` (the default, Flink's), ``WARNING`` or ``ERROR``;
- ``format``: ``spanstream`` (the default: the span's or event's ``repr``, with its ids) or
  ``flink``, Flink's line: ``Reported span: SimpleSpan{scope=…, name=…, startTsMillis=…,
  endTsMillis=…, attributes={…}, children=[…]}`` with Java's text for values (``true``,
  ``1.0E10``); events as ``Reported event: SimpleEvent{scope=…, name=…, observedTsMillis=…,
  severity=…, body=…, attributes={…}}`` (Flink's own event line is an object hash, since its
  ``SimpleEvent`` has no ``toString``). Attributes are in the span's order, not a Java
  ``HashMap``'s.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Generic, TypeVar

from spanstream.producer._config import MetricConfig
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import AttributeValue, Event, Span

__all__ = [
    "LoggingEventReporter",
    "LoggingEventReporterFactory",
    "LoggingTraceReporter",
    "LoggingTraceReporterFactory",
    "flink_event_text",
    "flink_span_text",
]

DEFAULT_LOGGER: Final = "spanstream.traces"
"""Where the trace reporter logs unless ``logger`` says otherwise."""

DEFAULT_EVENT_LOGGER: Final = "spanstream.events"
"""Where the event reporter logs unless ``logger`` says otherwise."""

_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
_FORMATS: Final = ("spanstream", "flink")
_KEYS: Final = ReporterKeys(frozenset({"logger", "level", "format"}))


def _java_double(value: float) -> str:
    """Java's ``Double.toString``: ``1.0``, ``0.25``, ``1.0E10``, ``NaN``, ``-Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + int(exponent)
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def _java_value(value: AttributeValue) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is float:
        return _java_double(value)
    return str(value)


def _java_map(attributes: Mapping[str, AttributeValue]) -> str:
    return "{" + ", ".join(f"{k}={_java_value(v)}" for k, v in attributes.items()) + "}"


def flink_span_text(span: Span) -> str:
    """Flink's ``SimpleSpan.toString()`` of ``span`` (and its children)."""
    children = ", ".join(flink_span_text(child) for child in span.children)
    return (
        f"SimpleSpan{{scope={span.scope}, name={span.name}, "
        f"startTsMillis={span.start_ts_millis}, endTsMillis={span.end_ts_millis}, "
        f"attributes={_java_map(span.attributes)}, children=[{children}]}}"
    )


def flink_event_text(event: Event) -> str:
    """``SimpleEvent{...}``: Flink's span form, applied to an event's fields."""
    return (
        f"SimpleEvent{{scope={event.scope}, name={event.name}, "
        f"observedTsMillis={event.observed_ts_millis}, severity={event.severity}, "
        f"body={event.body}, attributes={_java_map(event.attributes)}}}"
    )


_T = TypeVar("_T", Span, Event)


class _LoggingReporter(Generic[_T]):
    """What the span and event logging reporters share: the settings and the logging itself.

    A subclass gives its messages (``Reported span: ...``), its Flink text and Flink's
    ``notify_of_added_*`` method, which calls :meth:`_log`.
    """

    __slots__ = ("_closed", "_flink", "_level", "_logger")

    _default_logger: str = DEFAULT_LOGGER
    _message = "Reported item: %r"
    _flink_message = "Reported item: %s"

    def __init__(self) -> None:
        self._logger = logging.getLogger(self._default_logger)
        self._level = logging.INFO
        self._flink = False
        self._closed = False

    def open(self, config: MetricConfig) -> None:
        """Read ``logger``, ``level`` and ``format``."""
        self._logger = logging.getLogger(config.get_str("logger", self._default_logger))
        self._level = logging.getLevelName(config.get_choice("level", "INFO", _LEVELS))
        self._flink = config.get_choice("format", "spanstream", _FORMATS) == "flink"

    def close(self) -> None:
        """Stop logging; later items are ignored."""
        self._closed = True

    def _log(self, item: _T) -> None:
        if not self._closed and self._logger.isEnabledFor(self._level):
            if self._flink:
                self._logger.log(self._level, self._flink_message, self._flink_text(item))
            else:
                self._logger.log(self._level, self._message, item)

    def _flink_text(self, item: _T) -> str:
        raise NotImplementedError


class LoggingTraceReporter(_LoggingReporter[Span]):
    """Logs every span as ``Reported span: ...``, as Flink's Slf4j trace reporter does.

    See the module for the parameters (``logger``, ``level``, ``format``). The record is
    emitted on the reporting thread, like Flink's: the reporter is meant for development and
    debugging. Attach a :class:`logging.handlers.QueueHandler` to the logger if its handlers
    may block.
    """

    __slots__ = ()
    _message = "Reported span: %r"
    _flink_message = "Reported span: %s"

    def notify_of_added_span(self, span: Span) -> None:
        """Log the span at the configured level, in the configured format."""
        self._log(span)

    def _flink_text(self, item: Span) -> str:
        return flink_span_text(item)


class LoggingEventReporter(_LoggingReporter[Event]):
    """Logs every event as ``Reported event: ...``, as Flink's Slf4j event reporter does.

    See the module for the parameters (``logger``, default ``spanstream.events``, ``level``,
    ``format``).
    """

    __slots__ = ()
    _default_logger = DEFAULT_EVENT_LOGGER
    _message = "Reported event: %r"
    _flink_message = "Reported event: %s"

    def notify_of_added_event(self, event: Event) -> None:
        """Log the event at the configured level, in the configured format."""
        self._log(event)

    def _flink_text(self, item: Event) -> str:
        return flink_event_text(item)


class LoggingTraceReporterFactory:
    """Creates :class:`LoggingTraceReporter`; entry point ``logging``."""

    reporter_keys = _KEYS
    """``logger``, ``level`` and ``format``; any other key is a configuration error."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> LoggingTraceReporter:
        """Return a new logging reporter."""
        return LoggingTraceReporter()


class LoggingEventReporterFactory:
    """Creates :class:`LoggingEventReporter`; entry point ``logging``."""

    reporter_keys = _KEYS
    """``logger``, ``level`` and ``format``; any other key is a configuration error."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> LoggingEventReporter:
        """Return a new logging event reporter."""
        return LoggingEventReporter()
