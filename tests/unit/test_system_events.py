"""Flink 2.3 fidelity of the system traces: the new Checkpoint attributes, unacknowledged
checkpoints, Flink's StatsSummary rules, and the four system events with their views."""

from __future__ import annotations

import dataclasses

import pytest

from spanstream.schemas import Event, NotASystemTraceError, Span
from spanstream.schemas.system import (
    CHECKPOINT_TYPES,
    AllSubtasksStatusChangeEventView,
    CheckpointEventView,
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    CheckpointTrace,
    JobFailureEventView,
    JobFailureTrace,
    JobStatusChangeEventView,
    all_subtasks_status_change_event,
    checkpoint_event,
    checkpoint_span,
    job_failure_event,
    job_failure_span,
    job_status_change_event,
    read_system_event,
)

TRIGGER = 1_700_000_000_000


def _sizes() -> dict[str, int]:
    return {"checkpoint_id": 9, "full_size_bytes": 0, "checkpointed_size_bytes": 0}


def test_checkpoint_span_writes_is_unaligned_as_the_string_flink_writes():
    """isUnaligned is "true"/"false" (Flink's String.valueOf), never a boolean."""
    aligned = checkpoint_span(trigger_ts_millis=TRIGGER, **_sizes()).build()
    unaligned = checkpoint_span(trigger_ts_millis=TRIGGER, is_unaligned=True, **_sizes()).build()
    assert aligned.attributes["isUnaligned"] == "false"
    assert unaligned.attributes["isUnaligned"] == "true"


@pytest.mark.parametrize("checkpoint_type", CHECKPOINT_TYPES)
def test_checkpoint_type_takes_each_of_flinks_names(checkpoint_type: str):
    """checkpointType is one of Checkpoint, Full Checkpoint and the three savepoint kinds."""
    span = checkpoint_span(
        trigger_ts_millis=TRIGGER, checkpoint_type=checkpoint_type, **_sizes()
    ).build()
    assert span.attributes["checkpointType"] == checkpoint_type


def test_checkpoint_type_in_another_spelling_is_rejected_naming_the_accepted_ones():
    """The enum-style "CHECKPOINT" is not Flink's name: a ValueError lists the real ones."""
    with pytest.raises(ValueError, match=r"'CHECKPOINT'.*'Full Checkpoint'"):
        checkpoint_span(trigger_ts_millis=TRIGGER, checkpoint_type="CHECKPOINT", **_sizes())


def test_a_checkpoint_no_subtask_acknowledged_ends_at_minus_one_with_its_children():
    """Flink's observed failed checkpoint: span and task children end at -1, start at trigger."""
    tasks = (CheckpointTaskStats("v1", ()), CheckpointTaskStats("v2", ()))
    span = checkpoint_span(
        trigger_ts_millis=TRIGGER,
        status="FAILED",
        tasks=tasks,
        detail_level="CHILDREN_SPANS_PER_SUBTASK",
        **_sizes(),
    ).build()
    assert (span.start_ts_millis, span.end_ts_millis) == (TRIGGER, -1)
    assert [(c.start_ts_millis, c.end_ts_millis) for c in span.children] == [(TRIGGER, -1)] * 2
    assert all(c.children == () for c in span.children)
    assert span.attributes["metadataSize"] == -1


def test_the_checkpoint_event_of_an_unacknowledged_checkpoint_is_observed_at_minus_one():
    """Its CheckpointEvent keeps observed ts -1 (not "now") and metadataSize -1, as observed."""
    event = checkpoint_event(latest_ack_ts_millis=-1, status="FAILED", **_sizes()).build()
    assert (event.observed_ts_millis, event.attributes["metadataSize"]) == (-1, -1)
    view = CheckpointEventView.from_event(event)
    assert (view.acknowledged, view.completed) == (False, False)


def test_checkpoint_view_orders_an_unacknowledged_checkpoint_by_its_trigger():
    """acknowledged is False and settled_ts_millis is the trigger when the span ends at -1."""
    span = checkpoint_span(trigger_ts_millis=TRIGGER, status="FAILED", **_sizes()).build()
    trace = CheckpointTrace.from_span(span)
    assert (trace.acknowledged, trace.settled_ts_millis) == (False, TRIGGER)


def test_task_aggregates_and_start_ignore_negative_subtask_values_as_statssummary():
    """Task max/sum and the task's start delay skip values < 0 (Flink's -1 means unknown)."""
    task = CheckpointTaskStats(
        "v",
        (
            CheckpointSubtaskStats(
                0, TRIGGER + 90, {"CheckpointStartDelayMs": -1, "ProcessedDataBytes": -5}
            ),
            CheckpointSubtaskStats(
                1, TRIGGER + 80, {"CheckpointStartDelayMs": 7, "ProcessedDataBytes": -3}
            ),
        ),
    )
    span = checkpoint_span(
        trigger_ts_millis=TRIGGER,
        tasks=(task,),
        detail_level="CHILDREN_SPANS_PER_TASK",
        **_sizes(),
    ).build()
    (child,) = span.children
    assert child.start_ts_millis == TRIGGER + 7
    assert (
        child.attributes["maxProcessedDataBytes"],
        child.attributes["sumProcessedDataBytes"],
    ) == (
        0,
        0,
    )
    assert child.attributes["sumCheckpointStartDelayMs"] == 7
    assert child.attributes["maxCheckpointStartDelayMs"] == 7


def test_checkpoint_view_reads_the_2_3_attributes_and_none_on_a_1_20_span():
    """metadataSize, isUnaligned and checkpointType read typed; absent on old spans -> None."""
    new = CheckpointTrace.from_span(
        checkpoint_span(
            trigger_ts_millis=TRIGGER,
            latest_ack_ts_millis=TRIGGER + 5,
            metadata_size_bytes=77,
            is_unaligned=True,
            checkpoint_type="Savepoint",
            **_sizes(),
        ).build()
    )
    assert (new.metadata_size_bytes, new.is_unaligned, new.checkpoint_type) == (
        77,
        True,
        "Savepoint",
    )
    old = CheckpointTrace.from_span(
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_attributes(
            {"checkpointId": 1, "fullSize": 2, "checkpointedSize": 3, "checkpointStatus": "FAILED"}
        )
        .set_attribute("jobId", "j-120")
        .build()
    )
    assert (old.metadata_size_bytes, old.is_unaligned, old.checkpoint_type) == (None, None, None)
    assert old.job_id == "j-120"


def test_job_failure_event_writes_null_and_empty_labels_as_flink_does():
    """A None label is "<null>" and an empty one "<empty>"; others keep their value."""
    event = job_failure_event(
        can_restart=False, failure_labels={"a": None, "b": "", "c": "USER"}
    ).build()
    assert {k: v for k, v in event.attributes.items() if k.startswith("failureLabel.")} == {
        "failureLabel.a": "<null>",
        "failureLabel.b": "<empty>",
        "failureLabel.c": "USER",
    }
    assert event.attributes["canRestart"] == "false"
    assert "isGlobalFailure" not in event.attributes


def test_job_failure_event_view_reads_the_missing_labels_back():
    """The view undoes "<null>"/"<empty>" and reads canRestart/isGlobalFailure as booleans."""
    event = job_failure_event(
        can_restart=True,
        is_global_failure=True,
        failure_ts_millis=TRIGGER,
        failure_labels={"a": None, "b": "", "c": "USER"},
    ).build()
    view = JobFailureEventView.from_event(event)
    assert dict(view.failure_labels) == {"a": None, "b": "", "c": "USER"}
    assert (view.can_restart, view.is_global_failure, view.failure_ts_millis) == (
        True,
        True,
        TRIGGER,
    )


def test_job_failure_span_leaves_a_null_label_out():
    """The 1.20-2.1 span form cannot carry Flink's null label: it is left out, others kept."""
    span = job_failure_span(failure_ts_millis=TRIGGER, failure_labels={"a": None, "c": "X"}).build()
    assert JobFailureTrace.from_span(span).failure_labels == {"c": "X"}


def test_job_failure_event_observed_time_defaults_to_now_as_the_adaptive_scheduler():
    """Without a failure time the event is observed when built (Flink's 0 means now)."""
    event = job_failure_event(can_restart=True).build()
    assert event.observed_ts_millis > TRIGGER


def test_job_status_change_event_and_view():
    """newJobStatus is the JobStatus name; the view gives it and the change time."""
    event = job_status_change_event(new_job_status="RESTARTING", change_ts_millis=TRIGGER).build()
    view = JobStatusChangeEventView.from_event(event)
    assert (view.new_job_status, view.change_ts_millis) == ("RESTARTING", TRIGGER)


def test_all_subtasks_status_change_event_and_view():
    """status is ALL_RUNNING_OR_FINISHED or NOT_ALL_RUNNING_OR_FINISHED; the view reads it."""
    event = all_subtasks_status_change_event(status="NOT_ALL_RUNNING_OR_FINISHED").build()
    view = AllSubtasksStatusChangeEventView.from_event(event)
    assert (view.status, view.all_running_or_finished) == ("NOT_ALL_RUNNING_OR_FINISHED", False)


@pytest.mark.parametrize(
    ("build", "bad"),
    [
        (lambda: job_status_change_event(new_job_status="Running"), "'Running'"),
        (lambda: all_subtasks_status_change_event(status="ALL_RUNNING"), "'ALL_RUNNING'"),
        (
            lambda: checkpoint_event(latest_ack_ts_millis=1, status="PENDING", **_sizes()),
            "'PENDING'",
        ),
    ],
)
def test_event_builders_reject_values_flink_never_writes(build, bad):
    """A status Flink does not have raises ValueError naming it and the accepted ones."""
    with pytest.raises(ValueError, match=rf"{bad}: expected one of \("):
        build()


def test_read_system_event_recognises_each_kind_and_ignores_others():
    """Each system event gets its view; an application event gets None."""
    events = [
        checkpoint_event(latest_ack_ts_millis=TRIGGER, **_sizes()).build(),
        job_status_change_event(new_job_status="RUNNING").build(),
        job_failure_event(can_restart=True).build(),
        all_subtasks_status_change_event(status="ALL_RUNNING_OR_FINISHED").build(),
        Event.builder("my.app.Job", "Rescaled").build(),
    ]
    assert [type(read_system_event(e)).__name__ for e in events] == [
        "CheckpointEventView",
        "JobStatusChangeEventView",
        "JobFailureEventView",
        "AllSubtasksStatusChangeEventView",
        "NoneType",
    ]


def test_an_event_named_like_a_system_event_without_its_attributes_says_what_is_missing():
    """A JobStatusChangeEvent lacking newJobStatus raises NotASystemTraceError naming it."""
    event = Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
    with pytest.raises(NotASystemTraceError, match="newJobStatus"):
        read_system_event(event.build())


def test_an_event_view_of_a_span_says_what_was_expected():
    """Handing a span to an event view raises NotASystemTraceError naming both."""
    with pytest.raises(NotASystemTraceError, match=r"CheckpointEvent.*Span"):
        CheckpointEventView.from_event(Span.builder("a", "b").build())  # type: ignore[arg-type]


def test_event_views_are_immutable():
    """A view's fields cannot be reassigned."""
    view = JobStatusChangeEventView.from_event(
        job_status_change_event(new_job_status="RUNNING").build()
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.new_job_status = "FAILED"  # type: ignore[misc]
