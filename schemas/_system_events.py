"""Flink 2.2+'s four system events as pure data: builders that report them as a JobManager does.

Flink 2.2 added the ``Events`` enum and reports ``CheckpointEvent``, ``JobStatusChangeEvent``,
``JobFailureEvent`` and ``AllSubtasksStatusChangeEvent`` on the JobManager's job group, each
with severity ``"INFO"``, an empty body and its reporting class as the class scope
(``flink-2.3-traces-and-events.md`` §9). Each builder here returns an
:class:`~spanstream.schemas.EventBuilder` with those names, scopes and attributes; a Python job
reports it through its metric group exactly as Flink would. The typed views that read such an
event back are in ``_system_event_views``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from spanstream.schemas._checkpoint_spans import (
    CHECKPOINT_SCOPE,
    ROOT_JOB_ID_ATTRIBUTE,
    checkpoint_attributes,
)
from spanstream.schemas._errors import SpanValueError
from spanstream.schemas._event import EventBuilder
from spanstream.schemas._job_spans import FAILURE_LABEL_PREFIX, JOB_FAILURE_SCOPE

__all__ = [
    "ALL_SUBTASKS_STATUSES",
    "ALL_SUBTASKS_STATUS_CHANGE_EVENT",
    "ALL_SUBTASKS_STATUS_SCOPE",
    "CHECKPOINT_EVENT",
    "EMPTY_LABEL",
    "JOB_FAILURE_EVENT",
    "JOB_STATUSES",
    "JOB_STATUS_CHANGE_EVENT",
    "JOB_STATUS_SCOPE",
    "NULL_LABEL",
    "SYSTEM_EVENT_SEVERITY",
    "all_subtasks_status_change_event",
    "checkpoint_event",
    "job_failure_event",
    "job_status_change_event",
]

CHECKPOINT_EVENT: Final = "CheckpointEvent"
"""The name of the event Flink reports per completed or failed checkpoint."""
JOB_STATUS_CHANGE_EVENT: Final = "JobStatusChangeEvent"
"""The name of the event Flink reports when a job changes status."""
JOB_FAILURE_EVENT: Final = "JobFailureEvent"
"""The name of the event Flink 2.2+ report when a job fails (the ``JobFailure`` span before)."""
ALL_SUBTASKS_STATUS_CHANGE_EVENT: Final = "AllSubtasksStatusChangeEvent"
"""The name of the event Flink reports when all subtasks are, or stop being, running."""

JOB_STATUS_SCOPE: Final = "org.apache.flink.runtime.jobmaster.JobMaster"
"""The class scope of ``JobStatusChangeEvent``."""
ALL_SUBTASKS_STATUS_SCOPE: Final = (
    "org.apache.flink.runtime.scheduler.metrics.AllSubTasksRunningOrFinishedStateTimeMetrics"
)
"""The class scope of ``AllSubtasksStatusChangeEvent``."""

SYSTEM_EVENT_SEVERITY: Final = "INFO"
"""The severity of every Flink system event (their body is ``""``)."""

JOB_STATUSES: Final = (
    "INITIALIZING",
    "CREATED",
    "RUNNING",
    "FAILING",
    "FAILED",
    "CANCELLING",
    "CANCELED",
    "FINISHED",
    "RESTARTING",
    "SUSPENDED",
    "RECONCILING",
)
"""Flink's ``JobStatus`` names: the values of ``newJobStatus``."""

ALL_SUBTASKS_STATUSES: Final = ("ALL_RUNNING_OR_FINISHED", "NOT_ALL_RUNNING_OR_FINISHED")
"""The values of an ``AllSubtasksStatusChangeEvent``'s ``status``."""

NULL_LABEL: Final = "<null>"
"""What ``JobFailureEvent`` writes for a failure label whose value is missing (``null``)."""
EMPTY_LABEL: Final = "<empty>"
"""What ``JobFailureEvent`` writes for a failure label whose value is ``""``."""


def _system_event(
    scope: str, name: str, observed_ts_millis: int, job_id: str | None
) -> EventBuilder:
    builder = (
        EventBuilder(scope, name)
        .set_observed_ts_millis(observed_ts_millis)
        .set_severity(SYSTEM_EVENT_SEVERITY)
        .set_body("")
    )
    if job_id is not None:
        builder.set_attribute(ROOT_JOB_ID_ATTRIBUTE, job_id)
    return builder


def checkpoint_event(
    *,
    checkpoint_id: int,
    latest_ack_ts_millis: int,
    full_size_bytes: int,
    checkpointed_size_bytes: int,
    metadata_size_bytes: int = -1,
    status: str = "COMPLETED",
    is_unaligned: bool = False,
    checkpoint_type: str = "Checkpoint",
    job_id: str | None = None,
) -> EventBuilder:
    """Build Flink's ``CheckpointEvent``: the ``Checkpoint`` span's values, without aggregates.

    Flink reports it beside the ``Checkpoint`` span, from the same statistics; pass the same
    values as to :func:`~spanstream.schemas.system.checkpoint_span`.

    Args:
        checkpoint_id: ``checkpointId``.
        latest_ack_ts_millis: the observed time: the last acknowledgement, or -1 when no
            subtask acknowledged (Flink reports -1 then; 0 would mean "now").
        full_size_bytes: ``fullSize``.
        checkpointed_size_bytes: ``checkpointedSize``.
        metadata_size_bytes: ``metadataSize`` (-1 when there is none).
        status: ``checkpointStatus``: ``COMPLETED`` or ``FAILED``.
        is_unaligned: ``isUnaligned``, written as ``"true"``/``"false"``.
        checkpoint_type: ``checkpointType``, one of :data:`CHECKPOINT_TYPES`.
        job_id: ``jobId``, which Flink's job metric group adds; pass it when reporting
            through a group that does not.

    Raises:
        ValueError: an unknown status or checkpoint type.
    """
    attributes = checkpoint_attributes(
        checkpoint_id=checkpoint_id,
        full_size_bytes=full_size_bytes,
        checkpointed_size_bytes=checkpointed_size_bytes,
        metadata_size_bytes=metadata_size_bytes,
        status=status,
        is_unaligned=is_unaligned,
        checkpoint_type=checkpoint_type,
    )
    return _system_event(
        CHECKPOINT_SCOPE, CHECKPOINT_EVENT, latest_ack_ts_millis, job_id
    ).set_attributes(attributes)


def job_status_change_event(
    *, new_job_status: str, change_ts_millis: int = 0, job_id: str | None = None
) -> EventBuilder:
    """Build Flink's ``JobStatusChangeEvent`` (class scope ``JobMaster``).

    Args:
        new_job_status: ``newJobStatus``, one of :data:`JOB_STATUSES` (e.g. ``RUNNING``).
        change_ts_millis: the observed time: when the status changed (0: when built).
        job_id: ``jobId`` (see :func:`checkpoint_event`).

    Raises:
        ValueError: a status that is not a Flink ``JobStatus`` name.
    """
    if new_job_status not in JOB_STATUSES:
        raise SpanValueError(f"job status {new_job_status!r}: expected one of {JOB_STATUSES}")
    return _system_event(
        JOB_STATUS_SCOPE, JOB_STATUS_CHANGE_EVENT, change_ts_millis, job_id
    ).set_attribute("newJobStatus", new_job_status)


def job_failure_event(
    *,
    can_restart: bool,
    failure_ts_millis: int = 0,
    is_global_failure: bool | None = None,
    failure_labels: Mapping[str, str | None] | None = None,
    job_id: str | None = None,
) -> EventBuilder:
    """Build Flink 2.2+'s ``JobFailureEvent`` (class scope ``JobFailureMetricReporter``).

    Flink reports it whenever a job fails (it is not gated by any option).

    Args:
        can_restart: ``canRestart``, written as ``"true"``/``"false"``.
        failure_ts_millis: the observed time: the failure's (0: when built, as the adaptive
            scheduler does).
        is_global_failure: ``isGlobalFailure`` as ``"true"``/``"false"``; ``None`` leaves it out
            (the adaptive scheduler does not set it).
        failure_labels: each becomes ``failureLabel.<key>``; a ``None`` value is written
            :data:`NULL_LABEL` (``"<null>"``) and ``""`` is written :data:`EMPTY_LABEL`
            (``"<empty>"``), as Flink does.
        job_id: ``jobId`` (see :func:`checkpoint_event`).
    """
    builder = _system_event(JOB_FAILURE_SCOPE, JOB_FAILURE_EVENT, failure_ts_millis, job_id)
    builder.set_attribute("canRestart", "true" if can_restart else "false")
    if is_global_failure is not None:
        builder.set_attribute("isGlobalFailure", "true" if is_global_failure else "false")
    for key, value in (failure_labels or {}).items():
        text = NULL_LABEL if value is None else (value or EMPTY_LABEL)
        builder.set_attribute(FAILURE_LABEL_PREFIX + key, text)
    return builder


def all_subtasks_status_change_event(
    *, status: str, observed_ts_millis: int = 0, job_id: str | None = None
) -> EventBuilder:
    """Build Flink's ``AllSubtasksStatusChangeEvent`` (streaming jobs only).

    Args:
        status: ``ALL_RUNNING_OR_FINISHED`` or ``NOT_ALL_RUNNING_OR_FINISHED``.
        observed_ts_millis: the observed time (0: when built, as Flink reports "now").
        job_id: ``jobId`` (see :func:`checkpoint_event`).

    Raises:
        ValueError: any other status.
    """
    if status not in ALL_SUBTASKS_STATUSES:
        raise SpanValueError(
            f"all-subtasks status {status!r}: expected one of {ALL_SUBTASKS_STATUSES}"
        )
    return _system_event(
        ALL_SUBTASKS_STATUS_SCOPE, ALL_SUBTASKS_STATUS_CHANGE_EVENT, observed_ts_millis, job_id
    ).set_attribute("status", status)
