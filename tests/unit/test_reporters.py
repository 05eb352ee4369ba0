"""The built-in reporters: logging (Flink's Slf4j reporter) and in-memory (for tests)."""

from __future__ import annotations

import logging

import pytest

from spanstream.producer import (
    InMemoryTraceReporter,
    InMemoryTraceReporterFactory,
    LoggingTraceReporter,
    LoggingTraceReporterFactory,
    MetricConfig,
    TraceReporter,
    TraceReporterFactory,
)
from spanstream.schemas import ConfigError, Span


def _span(name: str = "n") -> Span:
    return Span.builder("app.Job", name).set_attribute("k", 1).build()


def test_built_in_reporters_and_factories_satisfy_the_protocols():
    """Both reporters are TraceReporters and both factories TraceReporterFactories."""
    assert isinstance(LoggingTraceReporter(), TraceReporter)
    assert isinstance(InMemoryTraceReporter(), TraceReporter)
    assert isinstance(LoggingTraceReporterFactory(), TraceReporterFactory)
    assert isinstance(InMemoryTraceReporterFactory(), TraceReporterFactory)
    assert isinstance(LoggingTraceReporterFactory().create_trace_reporter({}), LoggingTraceReporter)
    assert isinstance(
        InMemoryTraceReporterFactory().create_trace_reporter({}), InMemoryTraceReporter
    )


def test_logging_reporter_logs_reported_span_at_info(caplog):
    """Each span is logged as ``Reported span: ...`` on ``spanstream.traces`` at INFO."""
    reporter = LoggingTraceReporter()
    reporter.open(MetricConfig({}))
    span = _span()
    with caplog.at_level(logging.INFO, logger="spanstream.traces"):
        reporter.notify_of_added_span(span)
    (record,) = caplog.records
    assert record.name == "spanstream.traces"
    assert record.levelno == logging.INFO
    assert record.getMessage() == f"Reported span: {span!r}"


def test_logging_reporter_logger_and_level_are_configurable(caplog):
    """``logger`` and ``level`` parameters choose where and how spans are logged."""
    reporter = LoggingTraceReporter()
    reporter.open(MetricConfig({"logger": "my.traces", "level": "debug"}))
    with caplog.at_level(logging.DEBUG, logger="my.traces"):
        reporter.notify_of_added_span(_span())
    assert [(r.name, r.levelno) for r in caplog.records] == [("my.traces", logging.DEBUG)]


def test_logging_reporter_rejects_an_unknown_level():
    """An unknown level raises ConfigError naming the full key and the choices."""
    with pytest.raises(ConfigError, match="DEBUG, INFO") as excinfo:
        LoggingTraceReporter().open(MetricConfig({"level": "LOUD"}, prefix="traces.reporter.log."))
    assert excinfo.value.key == "traces.reporter.log.level"


def test_logging_reporter_is_silent_after_close(caplog):
    """After close(), spans are no longer logged."""
    reporter = LoggingTraceReporter()
    reporter.close()
    with caplog.at_level(logging.INFO, logger="spanstream.traces"):
        reporter.notify_of_added_span(_span())
    assert caplog.records == []


def test_in_memory_reporter_keeps_spans_in_order():
    """spans lists every reported span, oldest first, as an immutable snapshot."""
    reporter = InMemoryTraceReporter()
    first, second = _span("a"), _span("b")
    reporter.notify_of_added_span(first)
    snapshot = reporter.spans
    reporter.notify_of_added_span(second)
    assert snapshot == (first,)
    assert reporter.spans == (first, second)


def test_in_memory_reporter_clear_forgets_spans():
    """clear() empties the reporter."""
    reporter = InMemoryTraceReporter()
    reporter.notify_of_added_span(_span())
    reporter.clear()
    assert reporter.spans == ()


def test_in_memory_reporter_finds_spans_by_name():
    """spans_named(name) filters the reported spans by name."""
    reporter = InMemoryTraceReporter()
    for name in ("a", "b", "a"):
        reporter.notify_of_added_span(_span(name))
    assert [s.name for s in reporter.spans_named("a")] == ["a", "a"]


def test_in_memory_reporter_bounds_its_memory_with_max_spans():
    """``max.spans`` keeps only the newest spans and counts the discarded ones."""
    reporter = InMemoryTraceReporter()
    reporter.open(MetricConfig({"max.spans": 2}))
    for name in ("a", "b", "c"):
        reporter.notify_of_added_span(_span(name))
    assert [s.name for s in reporter.spans] == ["b", "c"]
    assert reporter.discarded == 1


def test_in_memory_reporter_ignores_spans_after_close():
    """After close(), spans are ignored but the earlier ones stay readable."""
    reporter = InMemoryTraceReporter()
    reporter.notify_of_added_span(_span())
    reporter.close()
    reporter.notify_of_added_span(_span())
    assert reporter.closed
    assert len(reporter.spans) == 1
