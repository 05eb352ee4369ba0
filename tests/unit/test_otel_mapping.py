"""spanstream.otel: Flink's exporter keys, and spans and events as OpenTelemetry data."""

from __future__ import annotations

import pytest
from opentelemetry._logs import SeverityNumber

from spanstream.otel import (
    CLAMPED_END_ATTRIBUTE,
    EVENT_NAME_ATTRIBUTE,
    OtlpSettings,
    attribute_key,
    make_resource,
    otel_attributes,
    parse_duration_s,
    to_otel_log,
    to_otel_spans,
)
from spanstream.schemas import ConfigError, Event, Span

PREFIX = "traces.reporter.otel."
RESOURCE = make_resource({"service.name": "test"})


def _tree() -> Span:
    root = Span.builder("org.example.Job", "Checkpoint").set_start_ts_millis(1000)
    root.set_end_ts_millis(1500).set_attribute("checkpointId", 7)
    root.set_attribute("isUnaligned", False)
    child = Span.builder("org.example.Job", "Checkpoint_Task").set_start_ts_millis(1100)
    child.set_end_ts_millis(1400).set_attribute("jobVertexId", "v1")
    root.add_child(child)
    return root.build(extra_attributes={"<host>": "tm-1", "<job_id>": "j1"})


def test_settings_read_flinks_exporter_keys():
    """Endpoint, protocol (any case), Flink duration and compression become settings."""
    settings = OtlpSettings.from_flink_config(
        {
            "exporter.endpoint": "http://collector:4318",
            "exporter.protocol": "HTTP",
            "exporter.timeout": "1500 ms",
            "exporter.compression": "gzip",
        },
        prefix=PREFIX,
    )
    assert (settings.protocol, settings.timeout_s, settings.compression) == ("http", 1.5, "gzip")
    assert settings.signal_endpoint("logs") == "http://collector:4318/v1/logs"


def test_settings_default_to_grpc_without_compression():
    """Only the endpoint is required: gRPC, 10 s, no compression."""
    settings = OtlpSettings.from_flink_config({"exporter.endpoint": "http://c:4317"})
    assert (settings.protocol, settings.timeout_s, settings.compression) == ("grpc", 10.0, "none")
    assert settings.signal_endpoint("traces") == "http://c:4317"


E = "http://c:4317"


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "exporter.endpoint"),
        ({"exporter.endpoint": "collector:4317"}, "exporter.endpoint"),
        ({"exporter.endpoint": E, "exporter.protocol": "thrift"}, "exporter.protocol"),
        ({"exporter.endpoint": E, "exporter.compression": "zstd"}, "exporter.compression"),
        ({"exporter.endpoint": E, "exporter.timeout": "soon"}, "exporter.timeout"),
    ],
)
def test_settings_reject_a_bad_value_naming_the_full_key(config, key):
    """A missing endpoint or a bad value is a ConfigError on the full key."""
    with pytest.raises(ConfigError) as raised:
        OtlpSettings.from_flink_config(config, prefix=PREFIX)
    assert raised.value.key == PREFIX + key


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10 s", 10.0), ("500ms", 0.5), ("2 min", 120.0), ("250", 0.25), ("1h", 3600.0)],
)
def test_durations_are_read_as_flink_writes_them(text, seconds):
    """Flink's TimeUtils units; a bare number is milliseconds."""
    assert parse_duration_s("exporter.timeout", text) == pytest.approx(seconds)


def test_attribute_keys_lose_one_pair_of_angle_brackets():
    """``<job_id>`` becomes ``job_id``; other keys stay."""
    assert [attribute_key(k) for k in ("<job_id>", "plain", "<<k>>")] == ["job_id", "plain", "<k>"]


def test_a_variable_replaces_the_attribute_it_collides_with_after_stripping():
    """``<host>`` stripped to ``host`` wins over a plain ``host`` attribute (Flink's order)."""
    assert otel_attributes({"<host>": "tm-1", "host": "mine"}) == {"host": "tm-1"}


def test_a_tree_keeps_its_ids_and_parent_links():
    """Root without parent; the child under the root; both with spanstream's own ids."""
    span = _tree()
    root, child = to_otel_spans(span, resource=RESOURCE)
    assert root.context.trace_id == int.from_bytes(span.trace_id, "big")
    assert root.context.span_id == int.from_bytes(span.span_id, "big")
    assert root.parent is None
    assert child.context.span_id == int.from_bytes(span.children[0].span_id, "big")
    assert child.parent.span_id == root.context.span_id
    assert child.context.trace_id == root.context.trace_id


def test_scope_times_and_every_attribute_type_are_kept():
    """Scope is the instrumentation scope, ms become ns, and a bool stays a bool."""
    root, _ = to_otel_spans(_tree(), resource=RESOURCE)
    assert root.instrumentation_scope.name == "org.example.Job"
    assert (root.start_time, root.end_time) == (1000 * 10**6, 1500 * 10**6)
    assert root.attributes["isUnaligned"] is False
    assert root.attributes["checkpointId"] == 7
    assert root.attributes["host"] == "tm-1"


def test_resource_variables_leave_the_span_attributes():
    """Keys the caller lifted into the resource are not span attributes too."""
    root, _ = to_otel_spans(_tree(), resource=RESOURCE, resource_variables={"<host>", "<job_id>"})
    assert "host" not in root.attributes
    assert "job_id" not in root.attributes


def test_an_end_before_the_start_is_clamped_and_kept_as_an_attribute():
    """A FAILED checkpoint ending at -1 ends at its start, with the raw end kept."""
    span = Span.builder("s", "Checkpoint").set_start_ts_millis(1000).set_end_ts_millis(-1).build()
    (otel_span,) = to_otel_spans(span, resource=RESOURCE)
    assert otel_span.end_time == otel_span.start_time
    assert otel_span.attributes[CLAMPED_END_ATTRIBUTE] == -1


def test_an_event_becomes_a_log_record_with_flinks_fields():
    """Body, severity text and number, observed time, name and stripped attributes."""
    event = (
        Event.builder("org.example.Job", "JobStatusChangeEvent")
        .set_observed_ts_millis(2000)
        .set_severity("INFO")
        .set_body("running")
        .set_attribute("newJobStatus", "RUNNING")
        .set_attribute("final", True)
        .build(variables={"<job_id>": "j1"})
    )
    readable = to_otel_log(event, resource=RESOURCE)
    record = readable.log_record
    assert (record.body, record.severity_text) == ("running", "INFO")
    assert record.severity_number is SeverityNumber.INFO
    assert record.observed_timestamp == 2000 * 10**6
    assert record.attributes[EVENT_NAME_ATTRIBUTE] == "JobStatusChangeEvent"
    assert record.attributes["job_id"] == "j1"
    assert record.attributes["final"] is True
    assert readable.instrumentation_scope.name == "org.example.Job"


def test_an_unknown_severity_has_an_unspecified_number():
    """A severity text that is no OpenTelemetry name keeps its text, number unspecified."""
    event = Event.builder("s", "e").set_severity("noteworthy").build()
    record = to_otel_log(event, resource=RESOURCE).log_record
    assert (record.severity_text, record.severity_number) == (
        "noteworthy",
        SeverityNumber.UNSPECIFIED,
    )


def test_an_event_inside_a_span_carries_its_ids():
    """The enclosing span's trace and span ids are the log record's."""
    event = Event.builder("s", "e").build(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    record = to_otel_log(event, resource=RESOURCE).log_record
    assert record.trace_id == int.from_bytes(b"\x01" * 16, "big")
    assert record.span_id == int.from_bytes(b"\x02" * 8, "big")
