"""The otel trace and event reporters, and the forwarder's log client, against a real collector."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from spanstream.otel import FLINK_RESOURCE_VARIABLES, LogRequestEncoder, OtlpClient, OtlpSettings
from spanstream.producer import (
    MetricConfig,
    OtelEventReporterFactory,
    OtelTraceReporter,
    ReporterRegistry,
)
from spanstream.schemas import Event, Span


def _registry(endpoint: str, **extra: str) -> ReporterRegistry:
    prefix = "traces.reporter.viewer."
    config = {
        prefix + "factory.class": "otel",
        prefix + "exporter.endpoint": endpoint,
        prefix + "service.name": "checkpointing",
        prefix + "service.version": "2.3.0",
        prefix + "scope.variables.additional": "region:eu",
        prefix + "batch.delay.ms": "50",
    }
    config.update({prefix + key: value for key, value in extra.items()})
    return ReporterRegistry.from_config(config)


def _checkpoint() -> Span:
    root = (
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_start_ts_millis(1_700_000_000_000)
        .set_end_ts_millis(1_700_000_000_900)
        .set_attribute("checkpointId", 42)
        .set_attribute("checkpointStatus", "COMPLETED")
        .set_attribute("alignmentRatio", 0.25)
        .set_attribute("isUnaligned", False)
    )
    for index in range(2):
        root.add_child(
            Span.builder(
                "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint_Task"
            )
            .set_start_ts_millis(1_700_000_000_100)
            .set_end_ts_millis(1_700_000_000_800)
            .set_attribute("jobVertexId", f"vertex-{index}")
        )
    return root.build()


def test_a_span_tree_arrives_with_its_ids_tree_attributes_and_resource(otlp_backend):
    """Root and children keep spanstream's ids and links; booleans, variables, service kept."""
    registry = _registry(otlp_backend.grpc_endpoint)
    group = registry.root_group(variables={"host": "jm-1", "job_id": "abc"})
    span = _checkpoint()
    group.add_span(span)
    registry.close()

    received = {s.span_id: s for s in otlp_backend.wait_for_spans(3)}
    assert len(received) == 3
    root = received[span.span_id.hex()]
    assert root.trace_id == span.trace_id.hex()
    assert root.parent_span_id == ""
    assert root.scope == "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
    assert (root.start_ns, root.end_ns) == (1_700_000_000_000 * 10**6, 1_700_000_000_900 * 10**6)
    assert root.attributes["checkpointId"] == 42
    assert root.attributes["alignmentRatio"] == 0.25
    assert root.attributes["isUnaligned"] is False
    assert root.attributes["host"] == "jm-1"
    assert root.attributes["region"] == "eu"
    assert root.resource["service.name"] == "checkpointing"
    assert root.resource["service.version"] == "2.3.0"
    for child in span.children:
        got = received[child.span_id.hex()]
        assert got.trace_id == span.trace_id.hex()
        assert got.parent_span_id == span.span_id.hex()
        assert got.name == "Checkpoint_Task"
        assert got.attributes["jobVertexId"] == child.attributes["jobVertexId"]


def test_spans_arrive_over_http_with_gzip(otlp_backend):
    """exporter.protocol HTTP (the /v1/traces path added) and gzip compression."""
    registry = _registry(
        otlp_backend.http_endpoint, **{"exporter.protocol": "HTTP", "exporter.compression": "gzip"}
    )
    span = Span.builder("app.Service", "Load").set_attribute("rows", 10).build()
    registry.root_group().add_span(span)
    registry.close()

    (received,) = otlp_backend.wait_for_spans(1)
    assert (received.span_id, received.name) == (span.span_id.hex(), "Load")
    assert received.attributes["rows"] == 10


def test_events_arrive_as_log_records_with_the_service_name(otlp_backend):
    """Body, severity, observed time and attributes; service.name applied (Flink's is not)."""
    reporter = OtelEventReporterFactory().create_event_reporter({})
    reporter.open(
        MetricConfig(
            {
                "exporter.endpoint": otlp_backend.grpc_endpoint,
                "service.name": "jobmanager",
                "batch.delay.ms": "50",
            },
            prefix="events.reporter.otel.",
        )
    )
    event = (
        Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
        .set_observed_ts_millis(1_700_000_000_000)
        .set_severity("INFO")
        .set_body("job is running")
        .set_attribute("newJobStatus", "RUNNING")
        .set_attribute("restarted", False)
        .build(variables={"<job_id>": "abc"}, trace_id=b"\x0a" * 16, span_id=b"\x0b" * 8)
    )
    reporter.notify_of_added_event(event)
    assert reporter.close() == 0

    (log,) = otlp_backend.wait_for_logs(1)
    assert log.scope == "org.apache.flink.runtime.jobmaster.JobMaster"
    assert (log.body, log.severity_text, log.severity_number) == ("job is running", "INFO", 9)
    assert log.observed_ns == 1_700_000_000_000 * 10**6
    assert log.attributes["name"] == "JobStatusChangeEvent"
    assert log.attributes["newJobStatus"] == "RUNNING"
    assert log.attributes["restarted"] is False
    assert log.attributes["job_id"] == "abc"
    assert (log.trace_id, log.span_id) == ("0a" * 16, "0b" * 8)
    assert log.resource["service.name"] == "jobmanager"
    assert reporter.snapshot().exported == 1


def test_an_unreachable_endpoint_costs_the_caller_nothing_and_every_span_is_counted():
    """With nothing listening and a tiny queue, spans are dropped and counted, never blocking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        reporter = OtelTraceReporter()
        reporter.open(
            MetricConfig(
                {
                    "exporter.endpoint": f"http://127.0.0.1:{port}",
                    "exporter.timeout": "1 s",
                    "queue.max.size": "5",
                    "batch.max.size": "5",
                },
                prefix="traces.reporter.otel.",
            )
        )
        for index in range(200):
            reporter.notify_of_added_span(Span.builder("app.Job", f"s{index}").build())
        reporter.close(timeout_s=30)
    stats = reporter.snapshot()
    assert stats.notified == 200
    assert stats.dropped["queue-full"] >= 190
    assert stats.exported == 0
    assert stats.pending == 0
    assert stats.accepted == stats.failed + stats.dropped.get("closed", 0)
    assert stats.notified == stats.accepted + stats.rejected


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_forwarders_client_delivers_event_log_records(otlp_backend, protocol):
    """OtlpClient.export_logs of LogRequestEncoder's request: records with their resource."""
    endpoint = otlp_backend.grpc_endpoint if protocol == "grpc" else otlp_backend.http_endpoint
    event = (
        Event.builder(
            "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "CheckpointEvent"
        )
        .set_observed_ts_millis(1_700_000_000_000)
        .set_severity("INFO")
        .set_attribute("checkpointId", 4)
        .build(variables={"<job_name>": "etl", "<job_id>": "abc"})
    )
    request, count = LogRequestEncoder({"service.name": "fwd"}, FLINK_RESOURCE_VARIABLES).encode(
        [event]
    )
    client = OtlpClient(OtlpSettings(endpoint, protocol=protocol, compression="gzip"))
    try:
        assert client.export_logs(request) == 0
    finally:
        client.close()
    (log,) = otlp_backend.wait_for_logs(count)
    assert log.attributes["name"] == "CheckpointEvent"
    assert log.attributes["checkpointId"] == 4
    assert log.resource == {"service.name": "fwd", "job_name": "etl", "job_id": "abc"}


def test_one_registry_exports_spans_and_events_with_an_event_inside_its_span(otlp_backend):
    """traces.* and events.* sections naming otel: the span, and its event linked to it."""
    config: dict[str, object] = {}
    for kind in ("traces", "events"):
        prefix = f"{kind}.reporter.viewer."
        config[prefix + "factory.class"] = "otel"
        config[prefix + "exporter.endpoint"] = otlp_backend.grpc_endpoint
        config[prefix + "service.name"] = "etl"
        config[prefix + "batch.delay.ms"] = "50"
    registry = ReporterRegistry.from_config(config)
    job = registry.root_group(variables={"host": "tm-1"})
    with job.span("my.etl.Loader", "Load") as span:
        span.set_attribute("rows", 3)
        job.add_event(Event.builder("my.etl.Loader", "Rescaled").set_attribute("to", 4))
    registry.close()

    (received,) = otlp_backend.wait_for_spans(1)
    (log,) = otlp_backend.wait_for_logs(1)
    assert log.attributes["name"] == "Rescaled"
    assert (log.trace_id, log.span_id) == (received.trace_id, received.span_id)
    assert log.attributes["host"] == "tm-1"
    assert log.resource["service.name"] == "etl"


def test_spans_still_queued_at_interpreter_exit_are_exported(otlp_backend, tmp_path):
    """A process that never closes its reporter still exports its span (the exit hook)."""
    script = tmp_path / "exits.py"
    script.write_text(
        "from spanstream.producer import ReporterRegistry\n"
        "from spanstream.schemas import Span\n"
        "registry = ReporterRegistry.from_config({\n"
        "    'traces.reporter.v.factory.class': 'otel',\n"
        f"    'traces.reporter.v.exporter.endpoint': '{otlp_backend.grpc_endpoint}',\n"
        "    'traces.reporter.v.batch.delay.ms': '60000',\n"
        "})\n"
        "registry.root_group().add_span(Span.builder('app.Job', 'LastWords'))\n"
    )
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    (span,) = otlp_backend.wait_for_spans(1)
    assert span.name == "LastWords"
