"""Flink's job-level spans as pure data: ``JobInitialization`` and the 1.20-2.1 ``JobFailure``.

``JobInitialization`` is reported once every subtask of a (re)started job has initialized
(Flink 2.3, scope ``CheckpointStatsTracker``). ``JobFailure`` is the span Flink 1.20-2.1 report
when ``traces.report-events-as-spans`` is true; Flink 2.2+ report a ``JobFailureEvent`` instead
(:func:`~spanstream.schemas.system.job_failure_event`). Both builders follow
``flink-2.3-traces-and-events.md`` §8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from spanstream.schemas._checkpoint_spans import CHECKPOINT_SCOPE, ROOT_JOB_ID_ATTRIBUTE
from spanstream.schemas._errors import SpanValueError
from spanstream.schemas._span import SpanBuilder

__all__ = [
    "FAILURE_LABEL_PREFIX",
    "INITIALIZATION_METRICS",
    "INITIALIZATION_STATUSES",
    "JOB_FAILURE_SCOPE",
    "JOB_FAILURE_SPAN",
    "JOB_INITIALIZATION_SPAN",
    "RESTORED_STATE_LOCATIONS",
    "job_failure_span",
    "job_initialization_span",
]

JOB_INITIALIZATION_SPAN: Final = "JobInitialization"
"""The name of Flink's job initialization span (scope :data:`CHECKPOINT_SCOPE`)."""
JOB_FAILURE_SCOPE: Final = "org.apache.flink.runtime.scheduler.adaptive.JobFailureMetricReporter"
"""The scope of Flink's ``JobFailure`` span and ``JobFailureEvent``."""
JOB_FAILURE_SPAN: Final = "JobFailure"
"""The name of Flink 1.20-2.1's job failure span."""
FAILURE_LABEL_PREFIX: Final = "failureLabel."
"""The prefix of a failure label's attribute: ``failureLabel.<key>``."""

INITIALIZATION_STATUSES: Final = ("COMPLETED", "FAILED")
"""The values of ``initializationStatus``."""

INITIALIZATION_METRICS: Final = (
    "MailboxStartDurationMs",
    "ReadOutputDataDurationMs",
    "InitializeStateDurationMs",
    "GateRestoreDurationMs",
    "DownloadStateDurationMs",
    "RestoreStateDurationMs",
    "RestoreAsyncCompactionDurationMs",
)
"""The JobInitialization duration metrics (the last three only with RocksDB incremental restore)."""

RESTORED_STATE_LOCATIONS: Final = ("LOCAL_MEMORY", "LOCAL_DISK", "REMOTE", "UNKNOWN")
"""``RestoredStateSizeBytes.<LOCATION>`` locations of a JobInitialization span."""


def job_initialization_span(
    *,
    start_ts_millis: int,
    end_ts_millis: int,
    status: str = "COMPLETED",
    checkpoint_id: int | None = None,
    full_size_bytes: int | None = None,
    durations: Mapping[str, tuple[int, int]] | None = None,
    job_id: str | None = None,
) -> SpanBuilder:
    """Build Flink's ``JobInitialization`` span.

    Args:
        start_ts_millis: when initialization started.
        end_ts_millis: when the last subtask finished initializing.
        status: ``initializationStatus`` (Flink's ``COMPLETED`` or ``FAILED``).
        checkpoint_id: the checkpoint restored from, if any (``checkpointId``).
        full_size_bytes: the restored state size, if known (``fullSize``).
        durations: ``{metric: (max, sum)}`` for :data:`INITIALIZATION_METRICS` and
            ``RestoredStateSizeBytes.<LOCATION>``; each becomes ``max<metric>`` and
            ``sum<metric>``.
        job_id: ``jobId``, which Flink's job metric group adds; pass it when reporting
            through a group that does not.

    Raises:
        ValueError: a status other than ``COMPLETED``/``FAILED``.
    """
    if status not in INITIALIZATION_STATUSES:
        raise SpanValueError(
            f"initialization status {status!r}: expected one of {INITIALIZATION_STATUSES}"
        )
    builder = (
        SpanBuilder(CHECKPOINT_SCOPE, JOB_INITIALIZATION_SPAN)
        .set_start_ts_millis(start_ts_millis)
        .set_end_ts_millis(end_ts_millis)
        .set_attribute("initializationStatus", status)
    )
    for metric, (maximum, total) in (durations or {}).items():
        builder.set_attribute("max" + metric, maximum)
        builder.set_attribute("sum" + metric, total)
    if checkpoint_id is not None:
        builder.set_attribute("checkpointId", checkpoint_id)
    if full_size_bytes is not None:
        builder.set_attribute("fullSize", full_size_bytes)
    if job_id is not None:
        builder.set_attribute(ROOT_JOB_ID_ATTRIBUTE, job_id)
    return builder


def job_failure_span(
    *,
    failure_ts_millis: int,
    can_restart: bool | None = None,
    is_global_failure: bool | None = None,
    failure_labels: Mapping[str, str | None] | None = None,
    job_id: str | None = None,
) -> SpanBuilder:
    """Build Flink 1.20-2.1's ``JobFailure`` span (start = end = the failure time).

    Flink 2.2+ report :func:`~spanstream.schemas.system.job_failure_event` instead; this form is for
    spans written by 1.20-2.1 with ``traces.report-events-as-spans: true``.

    ``canRestart`` and ``isGlobalFailure`` are the strings ``"true"``/``"false"`` (as Flink's
    ``String.valueOf(Boolean)``), left out when unknown; each label becomes
    ``failureLabel.<key>`` with its raw value. Flink can write a ``null`` label value, which a
    span cannot carry: such a label is left out (the event form writes it as ``"<null>"``).
    """
    builder = (
        SpanBuilder(JOB_FAILURE_SCOPE, JOB_FAILURE_SPAN)
        .set_start_ts_millis(failure_ts_millis)
        .set_end_ts_millis(failure_ts_millis)
    )
    if can_restart is not None:
        builder.set_attribute("canRestart", "true" if can_restart else "false")
    if is_global_failure is not None:
        builder.set_attribute("isGlobalFailure", "true" if is_global_failure else "false")
    for key, value in (failure_labels or {}).items():
        if value is not None:
            builder.set_attribute(FAILURE_LABEL_PREFIX + key, value)
    if job_id is not None:
        builder.set_attribute(ROOT_JOB_ID_ATTRIBUTE, job_id)
    return builder
