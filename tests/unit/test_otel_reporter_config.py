"""The otel reporters' configuration and their bounded, counted hand-off (no network)."""

from __future__ import annotations

import threading
from importlib import metadata

import pytest

from spanstream.producer import (
    MetricConfig,
    OtelEventReporter,
    OtelEventReporterFactory,
    OtelTraceReporter,
    OtelTraceReporterFactory,
    ReporterRegistry,
    TraceReporter,
)
from spanstream.producer._otlp_sender import OtlpQueueLimits, OtlpSender
from spanstream.schemas import ConfigError

PREFIX = "traces.reporter.viewer."


def test_otel_is_registered_in_both_entry_point_groups():
    """``otel`` names the trace reporter factory and the event reporter factory."""
    traces = {ep.name: ep for ep in metadata.entry_points(group="spanstream.trace_reporters")}
    events = {ep.name: ep for ep in metadata.entry_points(group="spanstream.event_reporters")}
    assert traces["otel"].load() is OtelTraceReporterFactory
    assert events["otel"].load() is OtelEventReporterFactory


def test_the_trace_reporter_is_a_trace_reporter():
    """The factory makes a reporter that satisfies the TraceReporter protocol."""
    reporter = OtelTraceReporterFactory().create_trace_reporter({})
    assert isinstance(reporter, TraceReporter)
    assert isinstance(OtelEventReporterFactory().create_event_reporter({}), OtelEventReporter)


def test_a_missing_endpoint_fails_the_registry_naming_the_full_key():
    """Flink's "Must set exporter.endpoint", as a ConfigError on the full key."""
    with pytest.raises(ConfigError) as raised:
        ReporterRegistry.from_config({PREFIX + "factory.class": "otel"})
    assert raised.value.key == PREFIX + "exporter.endpoint"


def test_an_unknown_parameter_is_rejected():
    """A misspelt key fails at start rather than being ignored."""
    with pytest.raises(ConfigError) as raised:
        ReporterRegistry.from_config(
            {
                PREFIX + "factory.class": "otel",
                PREFIX + "exporter.endpoint": "http://127.0.0.1:4317",
                PREFIX + "exporter.endpiont": "http://127.0.0.1:4317",
            }
        )
    assert raised.value.key == PREFIX + "exporter.endpiont"


def test_flinks_metric_reporter_keys_are_accepted():
    """``batch.size`` and ``export-completion-timeout-millis`` (Flink's metric reporter's)."""
    reporter = OtelTraceReporter()
    reporter.open(
        MetricConfig(
            {
                "exporter.endpoint": "http://127.0.0.1:4317",
                "batch.size": "100",
                "export-completion-timeout-millis": "1000",
            },
            prefix=PREFIX,
        )
    )
    assert reporter.close(timeout_s=5) == 0


def test_the_sender_counts_every_item_once_and_never_exceeds_its_queue():
    """Exported, dropped queue-full, dropped closed: the counts add up to what was offered."""
    release = threading.Event()
    exported: list[list[int]] = []

    def export(batch: list[int]) -> bool:
        release.wait(30)
        exported.append(batch)
        return True

    limits = OtlpQueueLimits(queue_max=10, batch_max=4, delay_s=0.01)
    sender: OtlpSender[int] = OtlpSender("test", export, limits, shutdown=lambda: None)
    for item in range(100):
        sender.offer(item)
    release.set()
    assert sender.flush(30) == 0
    sender.close(5)
    sender.offer(100)
    stats = sender.snapshot()
    assert stats.notified == 101
    assert stats.exported == sum(len(batch) for batch in exported)
    assert stats.exported <= 10 + 4  # the queue, plus the batch the thread held
    assert stats.dropped["queue-full"] == 100 - stats.exported
    assert stats.dropped["closed"] == 1
    assert stats.pending == 0
    assert stats.notified == stats.accepted + stats.rejected


def test_a_failing_export_is_counted_not_raised():
    """An exporter that raises counts its batch failed, with the error kept."""

    def export(batch: list[int]) -> bool:
        raise RuntimeError("endpoint on fire")

    limits = OtlpQueueLimits(queue_max=10, batch_max=10, delay_s=0.01)
    sender: OtlpSender[int] = OtlpSender("test", export, limits, shutdown=lambda: None)
    sender.offer(1)
    sender.offer(2)
    assert sender.flush(30) == 0
    sender.close(5)
    stats = sender.snapshot()
    assert (stats.failed, stats.exported) == (2, 0)
    assert stats.last_error == "RuntimeError: endpoint on fire"
