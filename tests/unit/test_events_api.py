"""MetricGroup.add_event and jobId: Flink's events API on the producer side."""

from __future__ import annotations

import logging

import pytest

from spanstream.producer import (
    InMemoryEventReporter,
    InMemoryTraceReporter,
    MetricGroup,
    ReporterRegistry,
    ReporterSetup,
    TraceFilter,
)
from spanstream.schemas import Event, Span

JOB_ID = "6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d"


class BrokenEventReporter(InMemoryEventReporter):
    def notify_of_added_event(self, event: Event) -> None:
        raise RuntimeError("event reporter is broken")


@pytest.fixture
def events() -> InMemoryEventReporter:
    return InMemoryEventReporter()


@pytest.fixture
def spans() -> InMemoryTraceReporter:
    return InMemoryTraceReporter()


@pytest.fixture
def registry(spans: InMemoryTraceReporter, events: InMemoryEventReporter) -> ReporterRegistry:
    return ReporterRegistry(
        [ReporterSetup("spans", spans)], event_setups=[ReporterSetup("events", events)]
    )


def _job(registry: ReporterRegistry) -> MetricGroup:
    root = registry.root_group(name="jobmanager", variables={"host": "h"})
    return root.add_group("job", variables={"job_id": JOB_ID, "job_name": "etl"})


def test_add_event_reports_the_event_with_the_group_s_variables(registry, events):
    """add_event hands the built event to the event reporters, variables put over attributes."""
    group = registry.root_group(variables={"host": "h"})
    group.add_event(
        Event.builder("app.Job", "Rescaled")
        .set_severity("INFO")
        .set_attribute("<host>", "mine")
        .set_attribute("parallelism", 4)
    )
    (event,) = events.events
    assert (event.scope, event.name, event.severity) == ("app.Job", "Rescaled", "INFO")
    assert dict(event.attributes) == {"<host>": "h", "parallelism": 4}


def test_events_go_to_event_reporters_and_spans_to_trace_reporters(registry, spans, events):
    """The two kinds of reporters are separate."""
    group = registry.root_group()
    group.add_event(Event.builder("app.Job", "Rescaled"))
    group.add_span(Span.builder("app.Job", "Load"))
    assert [e.name for e in events.events] == ["Rescaled"]
    assert [s.name for s in spans.spans] == ["Load"]


def test_an_event_outside_any_span_has_no_trace_or_span_id(registry, events):
    """Outside an open span an event is linked to nothing (as Flink's system events)."""
    registry.root_group().add_event(Event.builder("app.Job", "Rescaled"))
    assert (events.events[0].trace_id, events.events[0].span_id) == (None, None)


def test_an_event_inside_an_open_span_carries_that_span_s_ids(registry, spans, events):
    """``with group.span(...)``: the event's trace and span ids are the reported span's."""
    group = registry.root_group()
    with group.span("app.Job", "Restore"):
        group.add_event(Event.builder("app.Job", "Rescaled"))
    (span,) = spans.spans
    (event,) = events.events
    assert (event.trace_id, event.span_id) == (span.trace_id, span.span_id)


def test_an_event_inside_a_nested_traced_call_carries_the_inner_span_s_ids(registry, spans, events):
    """``@group.traced`` inside a span: the event names the inner span, in the outer's trace."""
    group = registry.root_group()

    @group.traced("app.Loader", "Load")
    def load() -> None:
        group.add_event(Event.builder("app.Loader", "Loaded"))

    with group.span("app.Job", "Run"):
        load()
    (root,) = spans.spans
    (event,) = events.events
    assert event.trace_id == root.trace_id
    assert event.span_id == root.children[0].span_id


def test_a_job_group_puts_job_id_on_root_spans_only(registry, spans):
    """Flink's JobMetricGroup: jobId (the <job_id> value) on the root, not on its children."""
    _job(registry).add_span(Span.builder("app.Job", "Checkpoint").add_child(Span.builder("a", "T")))
    (span,) = spans.spans
    assert span.attributes["jobId"] == JOB_ID
    assert "jobId" not in span.children[0].attributes
    assert span.children[0].attributes["<job_id>"] == JOB_ID


def test_a_job_group_puts_job_id_on_events(registry, events):
    """jobId is on every event reported on a job group, overwriting a user attribute."""
    _job(registry).add_event(Event.builder("app.Job", "Rescaled").set_attribute("jobId", "x"))
    assert events.events[0].attributes["jobId"] == JOB_ID


def test_task_groups_below_a_job_group_add_no_job_id(registry, spans, events):
    """Task and operator groups inherit <job_id> but are not job groups."""
    task = _job(registry).add_group("task", variables={"subtask_index": 0})
    assert task.job_id is None
    task.add_span(Span.builder("app.Task", "Load"))
    task.add_event(Event.builder("app.Task", "Loaded"))
    assert "jobId" not in spans.spans[0].attributes
    assert "jobId" not in events.events[0].attributes


def test_a_key_value_job_id_group_is_a_job_group(registry, spans):
    """``add_group("job_id", id)`` brings <job_id>, so that group reports jobId."""
    group = registry.root_group().add_group("job_id", JOB_ID)
    assert group.job_id == JOB_ID
    group.add_span(Span.builder("app.Job", "Load"))
    assert spans.spans[0].attributes["jobId"] == JOB_ID


def test_children_carry_the_root_s_scope_variables(registry, spans):
    """Every child span reported through a group carries the group's variables (Flink 2.2+)."""
    group = registry.root_group(variables={"host": "h"})
    group.add_span(
        Span.builder("s", "root").add_child(
            Span.builder("s", "c").add_child(Span.builder("s", "g"))
        )
    )
    assert [dict(s.attributes) for s, _, _ in spans.spans[0].walk()] == [{"<host>": "h"}] * 3


def test_children_of_a_finished_span_carry_each_reporter_s_variables():
    """With several reporters, each gets its own variables on every span of the tree."""
    a, b = InMemoryTraceReporter(), InMemoryTraceReporter()
    registry = ReporterRegistry(
        [
            ReporterSetup("a", a, additional_variables={"dc": "a"}),
            ReporterSetup("b", b, excluded_variables=frozenset({"host"})),
        ]
    )
    tree = Span.builder("s", "root").add_child(Span.builder("s", "c")).build()
    registry.root_group(variables={"host": "h"}).add_span(tree)
    assert [dict(s.attributes) for s, _, _ in a.spans[0].walk()] == [
        {"<dc>": "a", "<host>": "h"}
    ] * 2
    assert [dict(s.attributes) for s, _, _ in b.spans[0].walk()] == [{}] * 2


def test_event_filters_use_the_group_s_logical_scope_and_the_event_name(spans):
    """An event reporter's filter works as a trace reporter's (Flink's DefaultReporterFilters)."""
    jobs, everything = InMemoryEventReporter(), InMemoryEventReporter()
    registry = ReporterRegistry(
        event_setups=[
            ReporterSetup("jobs", jobs, TraceFilter.parse(includes="*.job:Job.+Event")),
            ReporterSetup("all", everything),
        ]
    )
    job = registry.root_group(name="jobmanager").add_group("job")
    job.add_event(Event.builder("s", "JobStatusChangeEvent"))
    job.add_event(Event.builder("s", "CheckpointEvent"))
    registry.root_group(name="jobmanager").add_event(Event.builder("s", "JobFailureEvent"))
    assert [e.name for e in jobs.events] == ["JobStatusChangeEvent"]
    assert len(everything.events) == 3


def test_every_event_reporter_gets_the_same_event_id():
    """The event is built once; each reporter gets its own variables on the same event id."""
    a, b = InMemoryEventReporter(), InMemoryEventReporter()
    registry = ReporterRegistry(
        event_setups=[
            ReporterSetup("a", a, additional_variables={"dc": "a"}),
            ReporterSetup("b", b),
        ]
    )
    registry.root_group().add_event(Event.builder("s", "E"))
    assert a.events[0].event_id == b.events[0].event_id
    assert (dict(a.events[0].attributes), dict(b.events[0].attributes)) == ({"<dc>": "a"}, {})


def test_add_event_never_raises_and_counts_a_failing_reporter(events, caplog):
    """A reporter that raises is counted in event_stats() and logged; the others still get it."""
    registry = ReporterRegistry(
        event_setups=[ReporterSetup("bad", BrokenEventReporter()), ReporterSetup("ok", events)]
    )
    with caplog.at_level(logging.WARNING, logger="spanstream.producer"):
        registry.root_group().add_event(Event.builder("s", "E"))
        registry.root_group().add_event("not an event")  # type: ignore[arg-type]
    assert registry.event_stats()["bad"].failures == 1
    assert "event reporter 'bad' failed on event 'E'" in caplog.text
    assert len(events.events) == 1


def test_a_closed_registry_reports_no_events(registry, events):
    """After close, add_event reaches no reporter."""
    group = registry.root_group()
    registry.close()
    group.add_event(Event.builder("s", "E"))
    assert events.events == ()
    assert events.closed
