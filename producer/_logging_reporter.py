"""Flink's ``Slf4jTraceReporter`` on the standard library's :mod:`logging`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from spanstream.producer._config import MetricConfig
from spanstream.schemas import Span

__all__ = ["LoggingTraceReporter", "LoggingTraceReporterFactory"]

DEFAULT_LOGGER: Final = "spanstream.traces"
_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")


class LoggingTraceReporter:
    """Logs every span as ``Reported span: ...``, as Flink's Slf4j trace reporter does.

    Parameters (under ``traces.reporter.<name>.``), both optional extensions of Flink's
    option-less reporter: ``logger`` (default ``spanstream.traces``) and ``level`` (``INFO``).

    The record is emitted on the reporting thread, like Flink's: the reporter is meant for
    development and debugging. Attach a :class:`logging.handlers.QueueHandler` to the logger if
    its handlers may block.
    """

    __slots__ = ("_closed", "_level", "_logger")

    def __init__(self) -> None:
        self._logger = logging.getLogger(DEFAULT_LOGGER)
        self._level = logging.INFO
        self._closed = False

    def open(self, config: MetricConfig) -> None:
        """Read ``logger`` and ``level``."""
        self._logger = logging.getLogger(config.get_str("logger", DEFAULT_LOGGER))
        self._level = logging.getLevelName(config.get_choice("level", "INFO", _LEVELS))

    def close(self) -> None:
        """Stop logging; later spans are ignored."""
        self._closed = True

    def notify_of_added_span(self, span: Span) -> None:
        """Log the span (its repr) at the configured level."""
        if not self._closed and self._logger.isEnabledFor(self._level):
            self._logger.log(self._level, "Reported span: %r", span)


class LoggingTraceReporterFactory:
    """Creates :class:`LoggingTraceReporter`; entry point ``logging``."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> LoggingTraceReporter:
        """Return a new logging reporter."""
        return LoggingTraceReporter()
