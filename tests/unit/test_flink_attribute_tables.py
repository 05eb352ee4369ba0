"""Every attribute name and type of Flink 2.3's system spans and events, table by table.

The tables below are written by hand from ``flink-2.3-traces-and-events.md`` §8 (spans) and §9
(events), not from the builders' constants, so a builder that drifts from Flink fails here.
``jobId`` is in every table because Flink's JobManager job group puts it on every root span and
event; the builders write it when given ``job_id`` (the group's ``<...>`` variables are the
group's, not the builders').
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from spanstream.schemas import Event, Span, decode_span, encode_span
from spanstream.schemas.system import (
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    all_subtasks_status_change_event,
    checkpoint_event,
    checkpoint_span,
    job_failure_event,
    job_failure_span,
    job_initialization_span,
    job_status_change_event,
)

# -- the reference's tables --------------------------------------------------------------------

TRACKER = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
JOB_FAILURE_REPORTER = "org.apache.flink.runtime.scheduler.adaptive.JobFailureMetricReporter"
JOB_MASTER = "org.apache.flink.runtime.jobmaster.JobMaster"
ALL_SUBTASKS = (
    "org.apache.flink.runtime.scheduler.metrics.AllSubTasksRunningOrFinishedStateTimeMetrics"
)

# §8 "M": DefaultCheckpointStatsTracker.java:104-137.
M = (
    "StateSizeBytes",
    "CheckpointedSizeBytes",
    "CheckpointStartDelayMs",
    "AlignmentDurationMs",
    "SyncCheckpointDurationMs",
    "AsyncCheckpointDurationMs",
    "ProcessedDataBytes",
    "PersistedDataBytes",
)

CHECKPOINT_ROOT: dict[str, type] = {
    "checkpointId": int,
    "fullSize": int,
    "checkpointedSize": int,
    "checkpointStatus": str,
    "isUnaligned": str,
    "checkpointType": str,
    "metadataSize": int,
    "jobId": str,
    **{f"max{m}": int for m in M},
    # No sumStateSizeBytes or sumCheckpointedSizeBytes (lines 515-519).
    **{f"sum{m}": int for m in M if m not in ("StateSizeBytes", "CheckpointedSizeBytes")},
}
PER_TASK_ARRAYS: dict[str, type] = {f"perTask{k}{m}": str for k in ("Max", "Sum") for m in M}
CHECKPOINT_TASK: dict[str, type] = {
    "checkpointId": int,
    "jobVertexId": str,
    **{f"{k}{m}": int for k in ("max", "sum") for m in M},
}
CHECKPOINT_SUBTASK: dict[str, type] = {
    "checkpointId": int,
    "jobVertexId": str,
    "subtaskId": int,
    **dict.fromkeys(M, int),
}
# §8 "D" (MetricNames.java:70-78), with one restored-state location.
D = (
    "MailboxStartDurationMs",
    "ReadOutputDataDurationMs",
    "InitializeStateDurationMs",
    "GateRestoreDurationMs",
    "DownloadStateDurationMs",
    "RestoreStateDurationMs",
    "RestoreAsyncCompactionDurationMs",
    "RestoredStateSizeBytes.REMOTE",
)
JOB_INITIALIZATION: dict[str, type] = {
    "initializationStatus": str,
    "checkpointId": int,
    "fullSize": int,
    "jobId": str,
    **{f"{k}{d}": int for k in ("max", "sum") for d in D},
}
JOB_FAILURE_SPAN: dict[str, type] = {
    "canRestart": str,
    "isGlobalFailure": str,
    "failureLabel.type": str,
    "jobId": str,
}
CHECKPOINT_EVENT: dict[str, type] = {
    "checkpointId": int,
    "fullSize": int,
    "checkpointedSize": int,
    "metadataSize": int,
    "checkpointStatus": str,
    "isUnaligned": str,
    "checkpointType": str,
    "jobId": str,
}
JOB_STATUS_CHANGE_EVENT: dict[str, type] = {"newJobStatus": str, "jobId": str}
JOB_FAILURE_EVENT: dict[str, type] = {
    "canRestart": str,
    "isGlobalFailure": str,
    "failureLabel.type": str,
    "jobId": str,
}
ALL_SUBTASKS_STATUS_CHANGE_EVENT: dict[str, type] = {"status": str, "jobId": str}

# -- what the builders are given -----------------------------------------------------------------

JOB_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
TRIGGER = 1_700_000_000_000
TASKS = tuple(
    CheckpointTaskStats(
        f"vertex-{t}",
        tuple(
            CheckpointSubtaskStats(s, TRIGGER + 100 + s, dict.fromkeys(M, 10 + s)) for s in range(2)
        ),
    )
    for t in range(2)
)


def _checkpoint(level: str) -> Span:
    return checkpoint_span(
        checkpoint_id=3,
        trigger_ts_millis=TRIGGER,
        full_size_bytes=100,
        checkpointed_size_bytes=10,
        metadata_size_bytes=1234,
        tasks=TASKS,
        detail_level=level,
        job_id=JOB_ID,
    ).build()


def _types(attributes: Mapping[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in attributes.items()}


SPAN_CASES: dict[str, tuple[Callable[[], Span], str, str, dict[str, type]]] = {
    "Checkpoint at SPAN_PER_CHECKPOINT": (
        lambda: _checkpoint("SPAN_PER_CHECKPOINT"),
        TRACKER,
        "Checkpoint",
        CHECKPOINT_ROOT,
    ),
    "Checkpoint at SPAN_PER_CHECKPOINT_WITH_TASKS": (
        lambda: _checkpoint("SPAN_PER_CHECKPOINT_WITH_TASKS"),
        TRACKER,
        "Checkpoint",
        CHECKPOINT_ROOT | PER_TASK_ARRAYS,
    ),
    "Checkpoint at CHILDREN_SPANS_PER_TASK": (
        lambda: _checkpoint("CHILDREN_SPANS_PER_TASK"),
        TRACKER,
        "Checkpoint",
        CHECKPOINT_ROOT,
    ),
    "Checkpoint at CHILDREN_SPANS_PER_SUBTASK": (
        lambda: _checkpoint("CHILDREN_SPANS_PER_SUBTASK"),
        TRACKER,
        "Checkpoint",
        CHECKPOINT_ROOT,
    ),
    "JobInitialization, restored": (
        lambda: job_initialization_span(
            start_ts_millis=TRIGGER,
            end_ts_millis=TRIGGER + 500,
            checkpoint_id=2,
            full_size_bytes=100,
            durations=dict.fromkeys(D, (5, 9)),
            job_id=JOB_ID,
        ).build(),
        TRACKER,
        "JobInitialization",
        JOB_INITIALIZATION,
    ),
    "JobFailure (1.20-2.1)": (
        lambda: job_failure_span(
            failure_ts_millis=TRIGGER,
            can_restart=True,
            is_global_failure=False,
            failure_labels={"type": "USER"},
            job_id=JOB_ID,
        ).build(),
        JOB_FAILURE_REPORTER,
        "JobFailure",
        JOB_FAILURE_SPAN,
    ),
}

# Which children each detail level has: (task table or None, subtask table or None).
CHILDREN_BY_LEVEL: dict[str, tuple[dict[str, type] | None, dict[str, type] | None]] = {
    "SPAN_PER_CHECKPOINT": (None, None),
    "SPAN_PER_CHECKPOINT_WITH_TASKS": (None, None),
    "CHILDREN_SPANS_PER_TASK": (CHECKPOINT_TASK, None),
    "CHILDREN_SPANS_PER_SUBTASK": (CHECKPOINT_TASK, CHECKPOINT_SUBTASK),
}

EVENT_CASES: dict[str, tuple[Callable[[], Event], str, dict[str, type]]] = {
    "CheckpointEvent": (
        lambda: checkpoint_event(
            checkpoint_id=3,
            latest_ack_ts_millis=TRIGGER + 101,
            full_size_bytes=100,
            checkpointed_size_bytes=10,
            metadata_size_bytes=1234,
            job_id=JOB_ID,
        ).build(),
        TRACKER,
        CHECKPOINT_EVENT,
    ),
    "JobStatusChangeEvent": (
        lambda: job_status_change_event(
            new_job_status="RUNNING", change_ts_millis=TRIGGER, job_id=JOB_ID
        ).build(),
        JOB_MASTER,
        JOB_STATUS_CHANGE_EVENT,
    ),
    "JobFailureEvent": (
        lambda: job_failure_event(
            can_restart=True,
            is_global_failure=False,
            failure_labels={"type": "USER"},
            failure_ts_millis=TRIGGER,
            job_id=JOB_ID,
        ).build(),
        JOB_FAILURE_REPORTER,
        JOB_FAILURE_EVENT,
    ),
    "AllSubtasksStatusChangeEvent": (
        lambda: all_subtasks_status_change_event(
            status="ALL_RUNNING_OR_FINISHED", observed_ts_millis=TRIGGER, job_id=JOB_ID
        ).build(),
        ALL_SUBTASKS,
        ALL_SUBTASKS_STATUS_CHANGE_EVENT,
    ),
}


@pytest.mark.parametrize("case", sorted(SPAN_CASES))
def test_span_has_exactly_the_reference_attribute_names_and_types(case: str) -> None:
    """The root span's scope, name and every attribute's name and type are the reference's."""
    build, scope, name, table = SPAN_CASES[case]
    span = build()
    assert (span.scope, span.name) == (scope, name)
    assert _types(span.attributes) == table


@pytest.mark.parametrize("case", sorted(SPAN_CASES))
def test_span_attribute_types_survive_the_wire(case: str) -> None:
    """Encoded and decoded, each attribute keeps the reference's type (String stays String)."""
    build, _, _, table = SPAN_CASES[case]
    assert _types(decode_span(encode_span(build())).attributes) == table


@pytest.mark.parametrize("level", sorted(CHILDREN_BY_LEVEL))
def test_checkpoint_children_have_the_reference_attributes_per_detail_level(level: str) -> None:
    """Checkpoint_Task/Checkpoint_Subtask exist at their levels with the reference's attributes."""
    task_table, subtask_table = CHILDREN_BY_LEVEL[level]
    span = _checkpoint(level)
    if task_table is None:
        assert span.children == ()
        return
    assert [child.name for child in span.children] == ["Checkpoint_Task"] * len(TASKS)
    for task in span.children:
        assert task.scope == TRACKER
        assert _types(task.attributes) == task_table
        if subtask_table is None:
            assert task.children == ()
        for subtask in task.children:
            assert (subtask.scope, subtask.name) == (TRACKER, "Checkpoint_Subtask")
            assert _types(subtask.attributes) == subtask_table
    if subtask_table is not None:
        assert sum(len(task.children) for task in span.children) == 4


@pytest.mark.parametrize("case", sorted(EVENT_CASES))
def test_event_has_exactly_the_reference_scope_severity_body_and_attributes(case: str) -> None:
    """Each system event: Flink's class scope, its name, severity INFO, body "", its attributes."""
    build, scope, table = EVENT_CASES[case]
    event = build()
    assert (event.scope, event.name, event.severity, event.body) == (scope, case, "INFO", "")
    assert _types(event.attributes) == table
