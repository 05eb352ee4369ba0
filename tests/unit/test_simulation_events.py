"""The demo's simulated JobManager: Flink 2.3's spans and system events, at the right moments."""

from __future__ import annotations

import pytest

from spanstream.cli._demo import report_events_as_spans
from spanstream.cli._simulation import DEMO_JOBS, FlinkSimulation
from spanstream.producer import (
    InMemoryEventReporter,
    InMemoryTraceReporter,
    ReporterRegistry,
    ReporterSetup,
)
from spanstream.schemas import ConfigError, Event, Span
from spanstream.schemas.system import (
    CheckpointEventView,
    CheckpointTrace,
    JobStatusChangeEventView,
    read_system_event,
)

DURATION_S = 4.0
FAILING_JOB = "fraud-detection"


def _drive(*, report_events_as_spans: bool = False) -> tuple[list[Span], list[Event]]:
    """Run the simulation's seam tick by tick (no waiting); return the reported spans and events."""
    spans, events = InMemoryTraceReporter(), InMemoryEventReporter()
    registry = ReporterRegistry(
        [ReporterSetup("mem", spans)], event_setups=[ReporterSetup("mem", events)]
    )
    simulation = FlinkSimulation(
        registry,
        duration_s=DURATION_S,
        seed=11,
        app_spans_per_s=20,
        report_events_as_spans=report_events_as_spans,
    )
    simulation.report(simulation.start())
    elapsed = 0.0
    while elapsed < DURATION_S:
        elapsed += 0.05
        simulation.report(simulation.tick(elapsed, 0.05))
    simulation.report(simulation.finish())
    assert simulation.counts.events == len(events.events)
    assert simulation.counts.total == len(spans.spans)
    return list(spans.spans), list(events.events)


def _job_events(events: list[Event], job_id: str) -> list[Event]:
    return [e for e in events if e.attributes["jobId"] == job_id]


def _job_id(spans: list[Span], job_name: str) -> str:
    span = next(s for s in spans if s.attributes.get("<job_name>") == job_name)
    return str(span.attributes["<job_id>"])


def test_the_failing_job_goes_running_restarting_running_cancelling_canceled():
    """Its JobStatusChangeEvents are those of the real Flink 2.3 run, in order."""
    spans, events = _drive()
    statuses = [
        view.new_job_status
        for e in _job_events(events, _job_id(spans, FAILING_JOB))
        if isinstance(view := read_system_event(e), JobStatusChangeEventView)
    ]
    assert statuses == ["RUNNING", "RESTARTING", "RUNNING", "CANCELLING", "CANCELED"]


def test_the_failure_is_a_job_failure_event_between_running_and_restarting():
    """Flink 2.3: JobFailureEvent, then RESTARTING and NOT_ALL_RUNNING_OR_FINISHED; no span."""
    spans, events = _drive()
    names = [
        (e.name, e.attributes.get("newJobStatus") or e.attributes.get("status"))
        for e in _job_events(events, _job_id(spans, FAILING_JOB))
        if e.name != "CheckpointEvent"
    ]
    failure = names.index(("JobFailureEvent", None))
    assert names[failure + 1 : failure + 3] == [
        ("JobStatusChangeEvent", "RESTARTING"),
        ("AllSubtasksStatusChangeEvent", "NOT_ALL_RUNNING_OR_FINISHED"),
    ]
    assert names[:2] == [
        ("JobStatusChangeEvent", "RUNNING"),
        ("AllSubtasksStatusChangeEvent", "ALL_RUNNING_OR_FINISHED"),
    ]
    assert not [s for s in spans if s.name == "JobFailure"]


def test_every_checkpoint_span_has_its_checkpoint_event_with_the_same_values():
    """One CheckpointEvent per Checkpoint span: same id, status, sizes, end as observed time."""
    spans, events = _drive()
    traces = {
        (t.job_id, t.checkpoint_id): t
        for t in (CheckpointTrace.from_span(s) for s in spans if s.name == "Checkpoint")
    }
    views = {
        (v.job_id, v.checkpoint_id): v
        for v in (CheckpointEventView.from_event(e) for e in events if e.name == "CheckpointEvent")
    }
    assert traces.keys() == views.keys()
    for key, trace in traces.items():
        view = views[key]
        assert (view.status, view.full_size_bytes, view.metadata_size_bytes) == (
            trace.status,
            trace.full_size_bytes,
            trace.metadata_size_bytes,
        )
        assert view.observed_ts_millis == trace.end_ts_millis


def test_the_checkpoint_aborted_by_the_failure_is_unacknowledged_as_in_the_real_run():
    """It ends at -1 with its task children, metadataSize -1; its event is observed at -1."""
    spans, events = _drive()
    unacked = [
        s for s in spans if s.name == "Checkpoint" and not CheckpointTrace.from_span(s).acknowledged
    ]
    assert [s.attributes["<job_name>"] for s in unacked] == [FAILING_JOB]
    (span,) = unacked
    assert span.attributes["metadataSize"] == -1
    assert span.children
    assert all(child.end_ts_millis == -1 for child in span.children)
    event = next(
        e
        for e in events
        if e.name == "CheckpointEvent"
        and e.attributes["checkpointId"] == span.attributes["checkpointId"]
        and e.attributes["jobId"] == span.attributes["jobId"]
    )
    assert (event.observed_ts_millis, event.attributes["metadataSize"]) == (-1, -1)


def test_checkpoint_spans_have_flinks_real_shape():
    """checkpointType "Checkpoint", isUnaligned "false", metadataSize, jobId; no alignmentRatio."""
    spans, _ = _drive()
    for span in (s for s in spans if s.name == "Checkpoint"):
        assert span.attributes["checkpointType"] == "Checkpoint"
        assert span.attributes["isUnaligned"] == "false"
        assert type(span.attributes["metadataSize"]) is int
        assert span.attributes["jobId"] == span.attributes["<job_id>"]
        assert "alignmentRatio" not in span.attributes


def test_every_system_event_is_info_with_an_empty_body_the_jobs_id_and_its_variables():
    """As observed: severity INFO, body "", jobId, <job_id>, <host> and <job_name> on each."""
    spans, events = _drive()
    job_ids = {_job_id(spans, job.name) for job in DEMO_JOBS}
    assert events
    assert {(e.severity, e.body) for e in events} == {("INFO", "")}
    assert {e.attributes["jobId"] for e in events} == job_ids
    assert all(e.attributes["<job_id>"] == e.attributes["jobId"] for e in events)
    assert {e.attributes["<host>"] for e in events} == {"jobmanager-0"}
    assert {e.attributes["<job_name>"] for e in events} == {job.name for job in DEMO_JOBS}


def test_task_manager_spans_carry_no_job_id_as_in_flink():
    """Application spans come from task groups: <job_id> but no jobId (Flink adds it on jobs)."""
    spans, _ = _drive()
    custom = [s for s in spans if s.scope.startswith("com.example.")]
    assert custom
    assert all("<job_id>" in s.attributes and "jobId" not in s.attributes for s in custom)


def test_as_flink_1_20_to_2_1_the_failure_is_a_span_and_there_are_no_events():
    """report_events_as_spans: a JobFailure span for the failing job, no system events."""
    spans, events = _drive(report_events_as_spans=True)
    failures = [s for s in spans if s.name == "JobFailure"]
    assert [s.attributes["<job_name>"] for s in failures] == [FAILING_JOB]
    assert failures[0].attributes["jobId"] == failures[0].attributes["<job_id>"]
    assert events == []


def test_the_demo_reads_report_events_as_spans_from_its_configuration():
    """traces.report-events-as-spans: a boolean or true/false text; anything else is named."""
    assert report_events_as_spans({}) is False
    assert report_events_as_spans({"traces.report-events-as-spans": True}) is True
    assert report_events_as_spans({"traces.report-events-as-spans": " TRUE "}) is True
    with pytest.raises(ConfigError, match=r"traces.report-events-as-spans: 'yes'.*true or false"):
        report_events_as_spans({"traces.report-events-as-spans": "yes"})
