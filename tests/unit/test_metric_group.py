"""MetricGroup: scope variables, child and key/value groups, logical scope, add_span."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest

from spanstream.producer import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
    InMemoryTraceReporter,
    MetricGroup,
    RecordingSpan,
    ReporterRegistry,
    ReporterSetup,
    TraceFilter,
)
from spanstream.schemas import Span


class Worker:
    pass


class FailingReporter:
    def __init__(self) -> None:
        self.calls = 0

    def open(self, config: object) -> None:
        pass

    def close(self) -> None:
        pass

    def notify_of_added_span(self, span: Span) -> None:
        self.calls += 1
        raise RuntimeError("reporter is broken")


def _registry(*setups: ReporterSetup, delimiter: str = ".") -> ReporterRegistry:
    return ReporterRegistry(setups, delimiter=delimiter)


@pytest.fixture
def memory() -> InMemoryTraceReporter:
    return InMemoryTraceReporter()


@pytest.fixture
def registry(memory: InMemoryTraceReporter) -> ReporterRegistry:
    return _registry(ReporterSetup("mem", memory))


def test_root_variables_get_angle_brackets_and_string_values():
    """Root variables are keyed ``<name>`` (given with or without brackets); ints become text."""
    group = MetricGroup.root(variables={"host": "h1", "<tm_id>": "tm", "subtask_index": 3})
    assert dict(group.variables) == {"<host>": "h1", "<tm_id>": "tm", "<subtask_index>": "3"}


@pytest.mark.parametrize("variables", [{"host": 1.5}, {"host": None}, {"": "x"}, {3: "x"}])
def test_bad_variables_raise_type_error(variables):
    """A variable must be a non-empty str name with a str or int value."""
    with pytest.raises(TypeError):
        MetricGroup.root(variables=variables)


def test_variables_are_read_only():
    """A group's variables cannot be changed through the mapping it returns."""
    group = MetricGroup.root(variables={"host": "h1"})
    with pytest.raises(TypeError):
        group.variables["<host>"] = "h2"  # type: ignore[index]


def test_child_groups_extend_the_logical_scope_and_inherit_variables():
    """add_group(name) appends the name to the logical scope and keeps the parent's variables."""
    root = MetricGroup.root(name="taskmanager", variables={"host": "h1"})
    task = root.add_group("job").add_group("task")
    assert task.logical_scope == "taskmanager.job.task"
    assert dict(task.variables) == {"<host>": "h1"}
    assert task.parent is not None
    assert task.parent.name == "job"


def test_add_group_returns_the_existing_child():
    """Adding a group with the same name twice returns the same group (as Flink does)."""
    root = MetricGroup.root()
    assert root.add_group("job") is root.add_group("job")
    assert root.add_group("k", "v") is root.add_group("k", "v")


def test_key_value_group_adds_a_variable_and_only_the_key_to_the_logical_scope():
    """add_group(key, value) adds ``<key>`` = value; the logical scope gains the key only."""
    group = MetricGroup.root(name="jobmanager").add_group("job_name", "etl")
    assert dict(group.variables) == {"<job_name>": "etl"}
    assert group.logical_scope == "jobmanager.job_name"
    assert group.scope_components == ("jobmanager", "job_name", "etl")
    assert group.name == "etl"


def test_plain_child_may_add_variables():
    """add_group(name, variables=...) adds scope variables, as Flink's job group adds <job_id>."""
    job = MetricGroup.root(name="jobmanager").add_group("job", variables={"job_id": "j1"})
    assert dict(job.variables) == {"<job_id>": "j1"}
    assert job.logical_scope == "jobmanager.job"


def test_logical_scope_uses_the_registry_delimiter(memory):
    """The logical scope is joined with the registry's delimiter (metrics.scope.delimiter)."""
    registry = _registry(ReporterSetup("mem", memory), delimiter="_")
    group = registry.root_group(name="jobmanager").add_group("job")
    assert group.logical_scope == "jobmanager_job"
    assert group.get_logical_scope(".") == "jobmanager.job"


def test_add_span_adds_group_and_reporter_variables_as_attributes(memory):
    """The span carries the group's variables and the reporter's additional ones."""
    registry = _registry(ReporterSetup("mem", memory, additional_variables={"region": "eu"}))
    group = registry.root_group(variables={"host": "h1"}).add_group("job_id", "j1")
    group.add_span(Span.builder(Worker, "Load").set_attribute("rows", 3))
    (span,) = memory.spans
    assert dict(span.attributes) == {
        "<region>": "eu",
        "<host>": "h1",
        "<job_id>": "j1",
        "jobId": "j1",
        "rows": 3,
    }
    assert span.scope == f"{__name__}.Worker"


def test_a_scope_variable_overwrites_a_span_attribute_of_the_same_key(memory):
    """Flink's order: group variable > reporter's additional variable > span attribute."""
    registry = _registry(
        ReporterSetup("mem", memory, additional_variables={"host": "cfg", "region": "cfg"})
    )
    group = registry.root_group(variables={"host": "group"})
    group.add_span(
        Span.builder("s", "n").set_attribute("<region>", "span").set_attribute("<host>", "span")
    )
    assert dict(memory.spans[0].attributes) == {"<host>": "group", "<region>": "cfg"}


def test_each_reporter_gets_its_own_additional_variables():
    """Additional variables are per reporter."""
    a, b = InMemoryTraceReporter(), InMemoryTraceReporter()
    registry = _registry(
        ReporterSetup("a", a, additional_variables={"dc": "a"}),
        ReporterSetup("b", b),
    )
    registry.root_group().add_span(Span.builder("s", "n"))
    assert dict(a.spans[0].attributes) == {"<dc>": "a"}
    assert dict(b.spans[0].attributes) == {}


def test_every_reporter_gets_the_same_ids_for_the_whole_tree():
    """One add_span gives every reporter the same trace id and span ids, children included."""
    a, b = InMemoryTraceReporter(), InMemoryTraceReporter()
    registry = _registry(ReporterSetup("a", a), ReporterSetup("b", b))
    registry.root_group().add_span(Span.builder("s", "n").add_child(Span.builder("s", "c")))
    ids_a = [(s.trace_id, s.span_id) for s, _, _ in a.spans[0].walk()]
    ids_b = [(s.trace_id, s.span_id) for s, _, _ in b.spans[0].walk()]
    assert ids_a == ids_b
    assert len(ids_a) == 2


def test_each_add_span_gets_fresh_ids(registry, memory):
    """Two add_span calls of the same builder give two spans with different ids."""
    builder = Span.builder("s", "n")
    group = registry.root_group()
    group.add_span(builder)
    group.add_span(builder)
    first, second = memory.spans
    assert first.trace_id != second.trace_id
    assert first.span_id != second.span_id


def test_filter_applies_to_logical_scope_and_span_name_per_reporter():
    """A reporter only receives spans its filter admits; others are unaffected."""
    jobs, everything = InMemoryTraceReporter(), InMemoryTraceReporter()
    registry = _registry(
        ReporterSetup("jobs", jobs, TraceFilter.parse(includes="*.job:Checkpoint")),
        ReporterSetup("all", everything),
    )
    root = registry.root_group(name="jobmanager")
    root.add_span(Span.builder("s", "Checkpoint"))
    root.add_group("job").add_span(Span.builder("s", "Checkpoint"))
    root.add_group("job").add_span(Span.builder("s", "Other"))
    assert [s.name for s in jobs.spans] == ["Checkpoint"]
    assert len(everything.spans) == 3


def test_filter_decision_is_computed_once_per_group_and_span_name(memory):
    """The filter runs once per (group, span name); later spans reuse the decision."""
    calls: list[tuple[str, str]] = []

    @dataclass(frozen=True, slots=True)
    class CountingFilter(TraceFilter):
        def matches(self, logical_scope: str, name: str) -> bool:
            calls.append((logical_scope, name))
            return True

    counting = CountingFilter((), ())
    registry = _registry(ReporterSetup("mem", memory, counting))
    group = registry.root_group()
    for _ in range(5):
        group.add_span(Span.builder("s", "a"))
        group.add_span(Span.builder("s", "b"))
    assert calls == [("process", "a"), ("process", "b")]
    assert len(memory.spans) == 10


def test_add_span_never_raises_when_a_reporter_fails_and_counts_it(memory, caplog):
    """A raising reporter is counted and logged; the other reporters still get the span."""
    failing = FailingReporter()
    registry = _registry(ReporterSetup("bad", failing), ReporterSetup("mem", memory))
    group = registry.root_group()
    with caplog.at_level(logging.WARNING, logger="spanstream.producer"):
        group.add_span(Span.builder("s", "n"))
    assert len(memory.spans) == 1
    stats = registry.stats()
    assert stats["bad"].failures == 1
    assert stats["bad"].last_error == "RuntimeError: reporter is broken"
    assert stats["mem"].failures == 0
    assert "'bad'" in caplog.text


def test_failure_logging_is_rate_limited(caplog):
    """Many failures in a row log once, while every one is counted."""
    failing = FailingReporter()
    registry = _registry(ReporterSetup("bad", failing))
    group = registry.root_group()
    with caplog.at_level(logging.WARNING, logger="spanstream.producer"):
        for _ in range(100):
            group.add_span(Span.builder("s", "n"))
    assert failing.calls == 100
    assert registry.stats()["bad"].failures == 100
    # Only the registry's own logger: a reporter left by another test may log meanwhile.
    assert len([r for r in caplog.records if r.name == "spanstream.producer"]) == 1


def test_a_span_that_cannot_be_built_is_counted_not_raised(registry, memory):
    """A builder that fails to build (a cycle) is counted as a failure, never raised."""
    looping = Span.builder("s", "loop")
    looping.add_child(looping)
    registry.root_group().add_span(looping)
    assert memory.spans == ()
    assert registry.stats()["mem"].failures == 1


def test_add_span_of_something_else_does_not_raise(registry, memory):
    """Passing a non-span to add_span is dropped silently rather than raising."""
    registry.root_group().add_span("not a span")  # type: ignore[arg-type]
    assert memory.spans == ()


def test_add_span_accepts_a_finished_span_and_keeps_its_ids(registry, memory):
    """A finished Span can be reported; its ids are kept and the variables added."""
    span = Span.builder("s", "n").build()
    registry.root_group(variables={"host": "h"}).add_span(span)
    (reported,) = memory.spans
    assert (reported.trace_id, reported.span_id) == (span.trace_id, span.span_id)
    assert reported.attributes["<host>"] == "h"


def test_group_without_registry_reports_nothing():
    """A group created without a registry accepts spans and does nothing."""
    MetricGroup.root().add_span(Span.builder("s", "n"))


def test_closed_registry_reports_nothing(registry, memory):
    """After registry.close(), add_span hands nothing over."""
    group = registry.root_group()
    group.add_span(Span.builder("s", "n"))
    registry.close()
    group.add_span(Span.builder("s", "n"))
    assert len(memory.spans) == 1


def test_span_context_manager_stamps_start_and_end_and_reports_on_exit(registry, memory):
    """``with group.span(...) as span`` gives a recording span, reported when the block ends."""
    group = registry.root_group(variables={"host": "h"})
    with group.span(Worker, "Compaction", attributes={"level": 1}) as span:
        assert isinstance(span, RecordingSpan)
        assert span.start_ts_millis is not None
        span.set_attribute("files", 12)
        assert memory.spans == ()
    (reported,) = memory.spans
    assert reported.name == "Compaction"
    assert reported.scope == f"{__name__}.Worker"
    assert dict(reported.attributes) == {"<host>": "h", "level": 1, "files": 12}
    assert reported.end_ts_millis >= reported.start_ts_millis


def test_span_context_manager_keeps_times_set_inside(registry, memory):
    """Start and end set on the builder inside the block are kept."""
    with registry.root_group().span("s", "n") as span:
        span.set_start_ts_millis(10).set_end_ts_millis(20)
    assert (memory.spans[0].start_ts_millis, memory.spans[0].end_ts_millis) == (10, 20)


def test_span_context_manager_records_and_reraises_an_exception(registry, memory):
    """An escaping exception is recorded as exception.type/message and not swallowed."""

    class CompactionError(Exception):
        pass

    with pytest.raises(CompactionError), registry.root_group().span("s", "n"):
        raise CompactionError("disk full")
    attributes = memory.spans[0].attributes
    assert attributes[EXCEPTION_TYPE].endswith("CompactionError")
    assert attributes[EXCEPTION_MESSAGE] == "disk full"


def test_builtin_exception_type_is_its_plain_name(registry, memory):
    """A built-in exception is recorded by its plain name (``ValueError``)."""
    with pytest.raises(ValueError, match="bad"), registry.root_group().span("s", "n"):
        raise ValueError("bad")
    assert memory.spans[0].attributes[EXCEPTION_TYPE] == "ValueError"


def test_traced_decorator_reports_each_call(registry, memory):
    """``@group.traced(...)`` reports one span per call and returns the function's result."""
    group = registry.root_group()

    @group.traced(Worker, "Load", attributes={"kind": "full"})
    def load(rows: int) -> int:
        return rows * 2

    assert load(2) == 4
    assert load(3) == 6
    assert [s.name for s in memory.spans] == ["Load", "Load"]
    assert memory.spans[0].attributes["kind"] == "full"
    assert load.__name__ == "load"


def test_traced_decorator_defaults_the_name_and_records_exceptions(registry, memory):
    """Without a name the span is named after the function; exceptions are recorded."""

    @registry.root_group().traced("s")
    def explode() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        explode()
    (span,) = memory.spans
    assert span.name.endswith("explode")
    assert span.attributes[EXCEPTION_TYPE] == "KeyError"


def test_traced_decorator_times_coroutines(registry, memory):
    """A decorated coroutine function is reported when the coroutine finishes."""

    @registry.root_group().traced("s", "Fetch")
    async def fetch() -> str:
        await asyncio.sleep(0)
        return "done"

    assert asyncio.run(fetch()) == "done"
    assert [s.name for s in memory.spans] == ["Fetch"]
