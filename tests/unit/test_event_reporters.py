"""The bundled event reporters, and the logging reporters' Flink line format."""

from __future__ import annotations

import logging

import pytest

from spanstream.producer import (
    EventReporter,
    EventReporterFactory,
    InMemoryEventReporter,
    InMemoryEventReporterFactory,
    LoggingEventReporter,
    LoggingEventReporterFactory,
    LoggingTraceReporter,
    MetricConfig,
    ReporterRegistry,
)
from spanstream.schemas import ConfigError, Event, Span


def _event(name: str = "Rescaled") -> Event:
    return (
        Event.builder("app.Job", name)
        .set_observed_ts_millis(1_700_000_000_000)
        .set_severity("INFO")
        .set_body("scaled out")
        .set_attribute("parallelism", 4)
        .build()
    )


def test_bundled_event_reporters_and_factories_satisfy_the_protocols():
    """The logging and in-memory event reporters are EventReporters, their factories too."""
    for factory in (LoggingEventReporterFactory(), InMemoryEventReporterFactory()):
        assert isinstance(factory, EventReporterFactory)
        assert isinstance(factory.create_event_reporter({}), EventReporter)


def test_in_memory_event_reporter_keeps_events_in_order_and_bounds_them():
    """``max.events`` keeps the newest events and counts the discarded ones."""
    reporter = InMemoryEventReporter()
    reporter.open(MetricConfig({"max.events": "2"}))
    for name in ("a", "b", "c"):
        reporter.notify_of_added_event(_event(name))
    assert [e.name for e in reporter.events] == ["b", "c"]
    assert reporter.discarded == 1
    assert reporter.events_named("c")[0].name == "c"
    reporter.close()
    reporter.notify_of_added_event(_event("d"))
    assert len(reporter.events) == 2


def test_logging_event_reporter_logs_reported_event_at_info(caplog):
    """Each event is logged as ``Reported event: ...`` on ``spanstream.events``."""
    reporter = LoggingEventReporter()
    reporter.open(MetricConfig({}))
    event = _event()
    with caplog.at_level(logging.INFO, logger="spanstream.events"):
        reporter.notify_of_added_event(event)
    (record,) = caplog.records
    assert (record.name, record.levelno) == ("spanstream.events", logging.INFO)
    assert record.getMessage() == f"Reported event: {event!r}"


def test_logging_trace_reporter_writes_flink_s_simple_span_line(caplog):
    """``format: flink`` logs Flink's Slf4j line: SimpleSpan{...} with Java's value text."""
    reporter = LoggingTraceReporter()
    reporter.open(MetricConfig({"format": "flink"}))
    span = (
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_start_ts_millis(10)
        .set_end_ts_millis(20)
        .set_attribute("checkpointId", 7)
        .set_attribute("isUnaligned", "false")
        .set_attribute("ratio", 0.5)
        .set_attribute("big", 1e10)
        .set_attribute("ok", True)
        .add_child(Span.builder("x.Y", "Checkpoint_Task").set_start_ts_millis(11))
        .build()
    )
    with caplog.at_level(logging.INFO, logger="spanstream.traces"):
        reporter.notify_of_added_span(span)
    assert caplog.records[0].getMessage() == (
        "Reported span: SimpleSpan{scope=org.apache.flink.runtime.checkpoint."
        "CheckpointStatsTracker, name=Checkpoint, startTsMillis=10, endTsMillis=20, "
        "attributes={checkpointId=7, isUnaligned=false, ratio=0.5, big=1.0E10, ok=true}, "
        "children=[SimpleSpan{scope=x.Y, name=Checkpoint_Task, startTsMillis=11, "
        "endTsMillis=11, attributes={}, children=[]}]}"
    )


def test_logging_event_reporter_writes_a_simple_event_line(caplog):
    """``format: flink`` logs events in Flink's span form (Flink's own is an object hash)."""
    reporter = LoggingEventReporter()
    reporter.open(MetricConfig({"format": "flink"}))
    with caplog.at_level(logging.INFO, logger="spanstream.events"):
        reporter.notify_of_added_event(_event())
    assert caplog.records[0].getMessage() == (
        "Reported event: SimpleEvent{scope=app.Job, name=Rescaled, "
        "observedTsMillis=1700000000000, severity=INFO, body=scaled out, "
        "attributes={parallelism=4}}"
    )


def test_logging_format_is_checked():
    """Only ``spanstream`` and ``flink`` are formats; anything else names the full key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {"events.reporter.log.factory.class": "logging", "events.reporter.log.format": "json"}
        )
    assert excinfo.value.key == "events.reporter.log.format"


def test_a_registry_configured_with_the_flink_format_logs_it_end_to_end(caplog):
    """From the configuration keys to the log line, through a metric group."""
    registry = ReporterRegistry.from_config(
        {"traces.reporter.log.factory.class": "logging", "traces.reporter.log.format": "flink"}
    )
    with caplog.at_level(logging.INFO, logger="spanstream.traces"):
        registry.root_group(variables={"host": "h"}).add_span(
            Span.builder("app.Job", "Load").set_start_ts_millis(5)
        )
    assert caplog.records[0].getMessage() == (
        "Reported span: SimpleSpan{scope=app.Job, name=Load, startTsMillis=5, endTsMillis=5, "
        "attributes={<host>=h}, children=[]}"
    )
