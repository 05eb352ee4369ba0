"""Flink's system traces: Checkpoint, JobInitialization and JobFailure builders and views."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanstream.producer import InMemoryTraceReporter, ReporterRegistry, ReporterSetup
from spanstream.schemas import NotASystemTraceError, Span, decode_span, encode_span
from spanstream.schemas.system import (
    CHECKPOINT_METRICS,
    CHECKPOINT_SCOPE,
    JOB_FAILURE_SCOPE,
    CheckpointSpanDetailLevel,
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    CheckpointTrace,
    JobFailureTrace,
    JobInitializationTrace,
    checkpoint_span,
    job_failure_span,
    job_initialization_span,
    read_system_trace,
)

TRIGGER = 1_700_000_000_000


def _subtask(index: int, ack: int, **metrics: int) -> CheckpointSubtaskStats:
    return CheckpointSubtaskStats(index, ack, metrics)


# Task "late" starts later (min delay 30) than task "early" (min delay 5): Flink sorts by it.
TASKS = (
    CheckpointTaskStats(
        "late",
        (
            _subtask(0, TRIGGER + 200, StateSizeBytes=100, CheckpointStartDelayMs=30),
            _subtask(1, TRIGGER + 250, StateSizeBytes=300, CheckpointStartDelayMs=40),
        ),
    ),
    CheckpointTaskStats(
        "early",
        (
            _subtask(
                0, TRIGGER + 150, StateSizeBytes=50, CheckpointStartDelayMs=5, ProcessedDataBytes=-1
            ),
        ),
    ),
)


def _checkpoint(**kwargs: object) -> Span:
    arguments: dict[str, object] = {
        "checkpoint_id": 42,
        "trigger_ts_millis": TRIGGER,
        "latest_ack_ts_millis": TRIGGER + 250,
        "full_size_bytes": 450,
        "checkpointed_size_bytes": 120,
    }
    arguments.update(kwargs)
    return checkpoint_span(**arguments).build()  # type: ignore[arg-type]


def test_checkpoint_span_has_flinks_scope_name_times_and_attributes():
    """Scope CheckpointStatsTracker, name Checkpoint, trigger to last ack, Flink attribute names."""
    span = _checkpoint(status="FAILED")
    assert (span.scope, span.name) == (CHECKPOINT_SCOPE, "Checkpoint")
    assert (span.start_ts_millis, span.end_ts_millis) == (TRIGGER, TRIGGER + 250)
    assert span.attributes["checkpointId"] == 42
    assert span.attributes["fullSize"] == 450
    assert span.attributes["checkpointedSize"] == 120
    assert span.attributes["checkpointStatus"] == "FAILED"


def test_checkpoint_span_carries_max_and_sum_aggregates_like_flink():
    """max<M> for all 8 metrics; sum<M> except StateSizeBytes and CheckpointedSizeBytes."""
    attributes = _checkpoint().attributes
    assert {f"max{m}" for m in CHECKPOINT_METRICS} <= attributes.keys()
    sums = {key for key in attributes if key.startswith("sum")}
    assert sums == {f"sum{m}" for m in CHECKPOINT_METRICS} - {
        "sumStateSizeBytes",
        "sumCheckpointedSizeBytes",
    }
    assert all(attributes[k] == 0 for k in sums)


def test_aggregates_are_computed_from_tasks_by_flinks_rules():
    """Max over positive values, sum over non-negative values (Flink's -1 means unknown)."""
    attributes = _checkpoint(tasks=TASKS).attributes
    assert attributes["maxStateSizeBytes"] == 300
    assert attributes["maxCheckpointStartDelayMs"] == 40
    assert attributes["sumCheckpointStartDelayMs"] == 75
    assert attributes["maxProcessedDataBytes"] == 0
    assert attributes["sumProcessedDataBytes"] == 0


def test_explicit_aggregates_replace_computed_ones():
    """aggregates={metric: (max, sum)} sets the totals directly; missing metrics are 0."""
    attributes = _checkpoint(aggregates={"AlignmentDurationMs": (7, 9)}).attributes
    assert (attributes["maxAlignmentDurationMs"], attributes["sumAlignmentDurationMs"]) == (7, 9)
    assert attributes["maxPersistedDataBytes"] == 0


def test_unknown_aggregate_metric_is_rejected():
    """An aggregate for a metric Flink does not report raises ValueError listing the metrics."""
    with pytest.raises(ValueError, match="StateSizeBytes"):
        _checkpoint(aggregates={"Bogus": (1, 1)})


def test_per_task_arrays_at_span_per_checkpoint_with_tasks():
    """SPAN_PER_CHECKPOINT_WITH_TASKS adds perTaskMax/perTaskSum as Java array text."""
    attributes = _checkpoint(
        tasks=TASKS, detail_level=CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT_WITH_TASKS
    ).attributes
    assert attributes["perTaskMaxStateSizeBytes"] == "[50, 300]"
    assert attributes["perTaskSumStateSizeBytes"] == "[50, 400]"
    assert not _checkpoint(tasks=TASKS).attributes.keys() & {"perTaskMaxStateSizeBytes"}


def test_task_children_at_children_spans_per_task():
    """CHILDREN_SPANS_PER_TASK adds one Checkpoint_Task child per task, ordered by start delay."""
    span = _checkpoint(tasks=TASKS, detail_level="CHILDREN_SPANS_PER_TASK")
    early, late = span.children
    assert [c.name for c in span.children] == ["Checkpoint_Task", "Checkpoint_Task"]
    assert (early.attributes["jobVertexId"], late.attributes["jobVertexId"]) == ("early", "late")
    assert (late.start_ts_millis, late.end_ts_millis) == (TRIGGER + 30, TRIGGER + 250)
    assert late.attributes["checkpointId"] == 42
    assert (late.attributes["maxStateSizeBytes"], late.attributes["sumStateSizeBytes"]) == (
        300,
        400,
    )
    assert late.scope == CHECKPOINT_SCOPE
    assert late.children == ()


def test_subtask_grandchildren_at_children_spans_per_subtask():
    """CHILDREN_SPANS_PER_SUBTASK adds Checkpoint_Subtask grandchildren with raw metric values."""
    span = _checkpoint(tasks=TASKS, detail_level="CHILDREN_SPANS_PER_SUBTASK")
    late = span.children[1]
    first, second = late.children
    assert [first.name, second.name] == ["Checkpoint_Subtask", "Checkpoint_Subtask"]
    assert first.attributes["subtaskId"] == 0
    assert second.attributes["subtaskId"] == 1
    assert second.attributes["jobVertexId"] == "late"
    assert second.attributes["checkpointId"] == 42
    assert second.attributes["StateSizeBytes"] == 300
    assert (second.start_ts_millis, second.end_ts_millis) == (TRIGGER + 40, TRIGGER + 250)


@pytest.mark.parametrize(
    "kwargs", [{"status": "IN_PROGRESS"}, {"detail_level": "SPANS_PER_EVERYTHING"}]
)
def test_checkpoint_span_rejects_unknown_status_and_detail_level(kwargs):
    """Only COMPLETED/FAILED statuses and Flink's four detail levels are accepted."""
    with pytest.raises(ValueError, match=r"IN_PROGRESS|SPANS_PER_EVERYTHING"):
        _checkpoint(**kwargs)


def test_subtask_stats_reject_unknown_metrics():
    """Subtask metrics must be Flink's; the error lists them."""
    with pytest.raises(ValueError, match="Bogus"):
        CheckpointSubtaskStats(0, 0, {"Bogus": 1})


def test_job_initialization_span():
    """JobInitialization: Flink's scope, status, optional checkpoint and size, max/sum durations."""
    span = job_initialization_span(
        start_ts_millis=10,
        end_ts_millis=70,
        checkpoint_id=41,
        full_size_bytes=4096,
        durations={"InitializeStateDurationMs": (30, 55), "RestoredStateSizeBytes.REMOTE": (1, 2)},
    ).build()
    assert (span.scope, span.name) == (CHECKPOINT_SCOPE, "JobInitialization")
    assert dict(span.attributes) == {
        "initializationStatus": "COMPLETED",
        "maxInitializeStateDurationMs": 30,
        "sumInitializeStateDurationMs": 55,
        "maxRestoredStateSizeBytes.REMOTE": 1,
        "sumRestoredStateSizeBytes.REMOTE": 2,
        "checkpointId": 41,
        "fullSize": 4096,
    }


def test_job_initialization_span_leaves_unknown_checkpoint_out():
    """Without a restored checkpoint, checkpointId and fullSize are absent."""
    span = job_initialization_span(start_ts_millis=1, end_ts_millis=2, status="FAILED").build()
    assert dict(span.attributes) == {"initializationStatus": "FAILED"}


def test_job_failure_span_uses_true_false_strings_and_failure_labels():
    """JobFailure: start = end = failure time, canRestart/isGlobalFailure as "true"/"false"."""
    span = job_failure_span(
        failure_ts_millis=99,
        can_restart=True,
        is_global_failure=False,
        failure_labels={"type": "user", "source": "io"},
    ).build()
    assert (span.scope, span.name) == (JOB_FAILURE_SCOPE, "JobFailure")
    assert (span.start_ts_millis, span.end_ts_millis) == (99, 99)
    assert dict(span.attributes) == {
        "canRestart": "true",
        "isGlobalFailure": "false",
        "failureLabel.type": "user",
        "failureLabel.source": "io",
    }


def test_job_failure_span_leaves_unknown_flags_out():
    """Flags Flink does not know are absent rather than false."""
    assert dict(job_failure_span(failure_ts_millis=1).build().attributes) == {}


def test_checkpoint_view_reads_every_field():
    """CheckpointTrace gives id, status, times, sizes, aggregates and the task tree."""
    trace = CheckpointTrace.from_span(
        _checkpoint(tasks=TASKS, detail_level=CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK)
    )
    assert (trace.checkpoint_id, trace.status, trace.completed) == (42, "COMPLETED", True)
    assert (trace.start_ts_millis, trace.end_ts_millis, trace.duration_millis) == (
        TRIGGER,
        TRIGGER + 250,
        250,
    )
    assert (trace.full_size_bytes, trace.checkpointed_size_bytes) == (450, 120)
    assert trace.max("StateSizeBytes") == 300
    assert trace.sum("CheckpointStartDelayMs") == 75
    assert trace.sum("StateSizeBytes") == 450
    assert trace.sum("CheckpointedSizeBytes") == 120
    assert trace.max("NoSuchMetric") is None
    assert [task.job_vertex_id for task in trace.tasks] == ["early", "late"]
    late = trace.tasks[1]
    assert late.sum("StateSizeBytes") == 400
    assert [(s.subtask_id, s.metrics["StateSizeBytes"]) for s in late.subtasks] == [
        (0, 100),
        (1, 300),
    ]


def test_views_read_spans_after_the_wire_and_show_scope_variables():
    """A Checkpoint reported through a group and the codec still reads, with its variables."""
    memory = InMemoryTraceReporter()
    registry = ReporterRegistry([ReporterSetup("mem", memory)])
    group = registry.root_group(name="jobmanager", variables={"job_id": "j-1"}).add_group("job")
    group.add_span(
        checkpoint_span(
            checkpoint_id=1,
            trigger_ts_millis=5,
            latest_ack_ts_millis=9,
            full_size_bytes=3,
            checkpointed_size_bytes=2,
        )
    )
    trace = CheckpointTrace.from_span(decode_span(encode_span(memory.spans[0])))
    assert trace.checkpoint_id == 1
    assert dict(trace.scope_variables) == {"<job_id>": "j-1"}


@pytest.mark.parametrize(
    "span",
    [
        Span.builder(CHECKPOINT_SCOPE, "Other").build(),
        Span.builder("my.Job", "Checkpoint").build(),
        job_failure_span(failure_ts_millis=1).build(),
    ],
)
def test_checkpoint_view_of_another_span_says_what_was_expected(span):
    """A span that is not a Checkpoint raises NotASystemTraceError naming scope and name."""
    with pytest.raises(NotASystemTraceError) as excinfo:
        CheckpointTrace.from_span(span)
    message = str(excinfo.value)
    assert "expected a Checkpoint span" in message
    assert CHECKPOINT_SCOPE in message
    assert f"{span.scope}/{span.name!r}" in message


def test_checkpoint_view_of_a_span_missing_an_attribute_names_it():
    """A Checkpoint span without checkpointId is not a checkpoint; the error names the key."""
    span = (
        Span.builder(CHECKPOINT_SCOPE, "Checkpoint").set_attribute("checkpointStatus", "X").build()
    )
    with pytest.raises(NotASystemTraceError, match="'checkpointId'"):
        CheckpointTrace.from_span(span)


def test_checkpoint_view_of_a_mistyped_attribute_names_it():
    """checkpointId as text is rejected, naming the attribute and the type."""
    span = _checkpoint().with_attributes({})
    bad = Span(
        span.scope,
        span.name,
        0,
        0,
        {**span.attributes, "checkpointId": "42"},
        (),
        span.trace_id,
        span.span_id,
    )
    with pytest.raises(NotASystemTraceError, match=r"'checkpointId' is a int, got str"):
        CheckpointTrace.from_span(bad)


def test_view_of_something_that_is_not_a_span():
    """A non-Span raises NotASystemTraceError too."""
    with pytest.raises(NotASystemTraceError, match="dict"):
        CheckpointTrace.from_span({})  # type: ignore[arg-type]


def test_job_initialization_view():
    """JobInitializationTrace gives status, optional checkpoint and size, and aggregates."""
    trace = JobInitializationTrace.from_span(
        job_initialization_span(
            start_ts_millis=10,
            end_ts_millis=70,
            checkpoint_id=41,
            durations={
                "GateRestoreDurationMs": (3, 4),
                "RestoredStateSizeBytes.LOCAL_DISK": (5, 6),
            },
        ).build()
    )
    assert (trace.status, trace.checkpoint_id, trace.full_size_bytes) == ("COMPLETED", 41, None)
    assert (trace.max("GateRestoreDurationMs"), trace.sum("GateRestoreDurationMs")) == (3, 4)
    assert trace.restored_state_size_bytes("LOCAL_DISK") == (5, 6)
    assert trace.restored_state_size_bytes("REMOTE") == (None, None)
    assert trace.duration_millis == 60


def test_job_initialization_view_rejects_a_checkpoint():
    """A Checkpoint span is not a JobInitialization span."""
    with pytest.raises(NotASystemTraceError, match="expected a JobInitialization span"):
        JobInitializationTrace.from_span(_checkpoint())


def test_job_failure_view():
    """JobFailureTrace turns the "true"/"false" strings into bools and collects labels."""
    trace = JobFailureTrace.from_span(
        job_failure_span(
            failure_ts_millis=7, can_restart=False, failure_labels={"type": "system"}
        ).build()
    )
    assert (trace.failure_ts_millis, trace.can_restart, trace.is_global_failure) == (7, False, None)
    assert dict(trace.failure_labels) == {"type": "system"}


def test_job_failure_view_rejects_a_flag_that_is_not_true_or_false():
    """canRestart must be the string "true" or "false"."""
    span = Span.builder(JOB_FAILURE_SCOPE, "JobFailure").set_attribute("canRestart", "yes").build()
    with pytest.raises(NotASystemTraceError, match="'true' or 'false'"):
        JobFailureTrace.from_span(span)


def test_read_system_trace_recognises_each_kind_and_ignores_others():
    """read_system_trace returns the right view, or None for an ordinary span."""
    assert isinstance(read_system_trace(_checkpoint()), CheckpointTrace)
    initialization = job_initialization_span(start_ts_millis=1, end_ts_millis=2).build()
    assert isinstance(read_system_trace(initialization), JobInitializationTrace)
    assert isinstance(
        read_system_trace(job_failure_span(failure_ts_millis=1).build()), JobFailureTrace
    )
    assert read_system_trace(Span.builder("my.Job", "Checkpoint").build()) is None


def test_views_are_immutable():
    """A view cannot be changed."""
    trace = CheckpointTrace.from_span(_checkpoint())
    with pytest.raises(AttributeError):
        trace.checkpoint_id = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        trace.aggregates["x"] = (1, 1)  # type: ignore[index]


LONGS = st.integers(min_value=0, max_value=2**62)
SUBTASKS = st.builds(
    CheckpointSubtaskStats,
    st.integers(min_value=0, max_value=1000),
    LONGS,
    st.dictionaries(st.sampled_from(CHECKPOINT_METRICS), st.integers(-1, 2**40)),
)
TASK_LISTS = st.lists(
    st.builds(
        CheckpointTaskStats,
        st.text(min_size=1),
        st.lists(SUBTASKS, min_size=1, max_size=4).map(tuple),
    ),
    max_size=4,
)


@given(
    LONGS,
    st.integers(min_value=1, max_value=2**62),  # a trigger time of 0 is "unset", as in Flink
    LONGS,
    LONGS,
    st.sampled_from(["COMPLETED", "FAILED"]),
    TASK_LISTS,
    st.sampled_from(list(CheckpointSpanDetailLevel)),
)
def test_checkpoint_builder_and_view_round_trip(
    checkpoint_id, start, full, checkpointed, status, tasks, level
):
    """Whatever a Checkpoint is built from, its view reads the same values back."""
    span = checkpoint_span(
        checkpoint_id=checkpoint_id,
        trigger_ts_millis=start,
        latest_ack_ts_millis=start + 5,
        full_size_bytes=full,
        checkpointed_size_bytes=checkpointed,
        status=status,
        tasks=tasks,
        detail_level=level,
    ).build()
    trace = CheckpointTrace.from_span(span)
    assert (trace.checkpoint_id, trace.status, trace.duration_millis) == (checkpoint_id, status, 5)
    assert (trace.full_size_bytes, trace.checkpointed_size_bytes) == (full, checkpointed)
    for metric in CHECKPOINT_METRICS:
        assert trace.max(metric) == max((v for t in tasks if (v := t.max(metric)) > 0), default=0)
    expected_tasks = len(tasks) if level.name.startswith("CHILDREN") else 0
    assert len(trace.tasks) == expected_tasks
    if level is CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK:
        assert sum(len(t.subtasks) for t in trace.tasks) == sum(len(t.subtasks) for t in tasks)
