"""The forwarder's OTLP requests: spans held to the reference (SDK spans + the SDK's encoder),
events through that reference path with Flink's variables in the resource."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from spanstream.otel import (
    FLINK_RESOURCE_VARIABLES,
    LogRequestEncoder,
    TraceRequestEncoder,
    make_resource,
    to_otel_spans,
)
from spanstream.schemas import Event, Span, SpanBuilder

LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# NaN is left out: a NaN attribute never equals itself in a protobuf comparison either.
VALUES = st.one_of(st.text(), LONGS, st.floats(allow_nan=False), st.booleans())
KEYS = st.one_of(st.text(), st.sampled_from(sorted(FLINK_RESOURCE_VARIABLES)))
TIMES = st.integers(min_value=-5, max_value=2**40)


@st.composite
def trees(draw: st.DrawFn, depth: int = 2) -> SpanBuilder:
    builder = Span.builder(draw(st.sampled_from(["a.Job", "b.Job", "c"])), draw(st.text()))
    builder.set_start_ts_millis(draw(TIMES)).set_end_ts_millis(draw(TIMES))
    builder.set_attributes(draw(st.dictionaries(KEYS, VALUES, max_size=8)))
    if depth:
        builder.add_children(draw(st.lists(trees(depth - 1), max_size=3)))
    return builder


def _reference(roots: list[Span], service: str) -> object:
    """to_otel_spans with the resource the forwarder gives each tree, then the SDK encoder."""
    encoder = TraceRequestEncoder({"service.name": service}, FLINK_RESOURCE_VARIABLES)
    sdk_spans = []
    for root in roots:
        resource = make_resource(encoder.resource_attributes(root))
        sdk_spans += to_otel_spans(
            root, resource=resource, resource_variables=FLINK_RESOURCE_VARIABLES
        )
    return encode_spans(sdk_spans)


@given(st.lists(trees(), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_the_direct_request_equals_the_sdk_encoders(builders):
    """Same resources, scopes, ids, parents, times, flags, status and attributes, in order."""
    roots = [builder.build() for builder in builders]
    request, count = TraceRequestEncoder({"service.name": "svc"}, FLINK_RESOURCE_VARIABLES).encode(
        roots
    )
    assert request == _reference(roots, "svc")
    assert count == sum(1 for root in roots for _ in root.walk())


def test_a_tree_with_flink_variables_and_a_negative_end_matches():
    """A failed checkpoint ending at -1, on a job group: the case the demo produces."""
    root = Span.builder("org.apache.flink.Tracker", "Checkpoint").set_start_ts_millis(1000)
    root.set_end_ts_millis(-1).set_attribute("checkpointId", 3).set_attribute("ratio", math.pi)
    root.add_child(Span.builder("org.apache.flink.Tracker", "Checkpoint_Task"))
    span = root.build(extra_attributes={"<host>": "jm", "<job_id>": "j", "<region>": "eu"})
    request, count = TraceRequestEncoder({"service.name": "f"}, FLINK_RESOURCE_VARIABLES).encode(
        [span]
    )
    assert request == _reference([span], "f")
    assert count == 2


def _event(job: str, observed: int) -> Event:
    return (
        Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
        .set_observed_ts_millis(observed)
        .set_severity("INFO")
        .set_attribute("newJobStatus", "RUNNING")
        .build(variables={"<job_name>": job, "<host>": "jm-0", "<region>": "eu"})
    )


def test_events_get_a_resource_per_job_and_their_observed_time_as_timestamp():
    """Flink's host/job variables go to the resource; the record's time is the observed one."""
    request, count = LogRequestEncoder({"service.name": "f"}, FLINK_RESOURCE_VARIABLES).encode(
        [_event("etl", 1000), _event("etl", 2000), _event("fraud", 3000)]
    )
    assert count == 3
    resources = [
        {kv.key: kv.value.string_value for kv in rl.resource.attributes}
        for rl in request.resource_logs
    ]
    assert resources == [
        {"service.name": "f", "host": "jm-0", "job_name": "etl"},
        {"service.name": "f", "host": "jm-0", "job_name": "fraud"},
    ]
    first = request.resource_logs[0].scope_logs[0].log_records[0]
    assert (first.time_unix_nano, first.observed_time_unix_nano) == (10**9, 10**9)
    keys = {kv.key for kv in first.attributes}
    assert {"newJobStatus", "region", "name"} <= keys
    assert not keys & {"host", "job_name", "<host>"}
