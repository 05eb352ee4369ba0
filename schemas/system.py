"""Flink's system traces and events as pure data: builders that report them, views that read them.

Flink reports a few spans and events of its own; this module holds their names, scopes,
attributes and status values as Flink 2.3 writes them (``flink-2.3-traces-and-events.md``
§8 and §9):

- spans: ``Checkpoint`` with its ``Checkpoint_Task`` / ``Checkpoint_Subtask`` children
  (:func:`checkpoint_span`), ``JobInitialization`` (:func:`job_initialization_span`) and the
  Flink 1.20-2.1 ``JobFailure`` (:func:`job_failure_span`); each builder returns a
  :class:`~spanstream.schemas.SpanBuilder`;
- events (Flink 2.2+): ``CheckpointEvent``, ``JobStatusChangeEvent``, ``JobFailureEvent`` and
  ``AllSubtasksStatusChangeEvent`` (:func:`checkpoint_event`, ...), each an
  :class:`~spanstream.schemas.EventBuilder`;
- typed read-only views of a finished span or event, wherever it came from:
  :func:`read_system_trace` (:class:`CheckpointTrace`, :class:`JobInitializationTrace`,
  :class:`JobFailureTrace`) and :func:`read_system_event` (:class:`CheckpointEventView`, ...).
  A span or event that looks like one but is not raises
  :class:`~spanstream.schemas.NotASystemTraceError`.

The contract itself (``Span``, ``Event``, their builders, codecs and errors) stays in
:mod:`spanstream.schemas`; this module is a thin public face over private modules.

Example:
    >>> from spanstream.schemas.system import CheckpointTrace, checkpoint_span
    >>> span = checkpoint_span(
    ...     checkpoint_id=7, trigger_ts_millis=1_000, latest_ack_ts_millis=1_250,
    ...     full_size_bytes=4096, checkpointed_size_bytes=512,
    ... ).build()
    >>> CheckpointTrace.from_span(span).checkpoint_id
    7
"""

from spanstream.schemas._checkpoint_spans import (
    CHECKPOINT_METRICS,
    CHECKPOINT_SCOPE,
    CHECKPOINT_SPAN,
    CHECKPOINT_STATUSES,
    CHECKPOINT_SUBTASK_SPAN,
    CHECKPOINT_TASK_SPAN,
    CHECKPOINT_TYPES,
    NO_ACK_TS_MILLIS,
    ROOT_JOB_ID_ATTRIBUTE,
    CheckpointSpanDetailLevel,
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    checkpoint_span,
)
from spanstream.schemas._job_spans import (
    FAILURE_LABEL_PREFIX,
    INITIALIZATION_METRICS,
    INITIALIZATION_STATUSES,
    JOB_FAILURE_SCOPE,
    JOB_FAILURE_SPAN,
    JOB_INITIALIZATION_SPAN,
    RESTORED_STATE_LOCATIONS,
    job_failure_span,
    job_initialization_span,
)
from spanstream.schemas._system_event_views import (
    AllSubtasksStatusChangeEventView,
    CheckpointEventView,
    JobFailureEventView,
    JobStatusChangeEventView,
    read_system_event,
)
from spanstream.schemas._system_events import (
    ALL_SUBTASKS_STATUS_CHANGE_EVENT,
    ALL_SUBTASKS_STATUS_SCOPE,
    ALL_SUBTASKS_STATUSES,
    CHECKPOINT_EVENT,
    EMPTY_LABEL,
    JOB_FAILURE_EVENT,
    JOB_STATUS_CHANGE_EVENT,
    JOB_STATUS_SCOPE,
    JOB_STATUSES,
    NULL_LABEL,
    SYSTEM_EVENT_SEVERITY,
    all_subtasks_status_change_event,
    checkpoint_event,
    job_failure_event,
    job_status_change_event,
)
from spanstream.schemas._system_trace_views import (
    CheckpointSubtaskTrace,
    CheckpointTaskTrace,
    CheckpointTrace,
    JobFailureTrace,
    JobInitializationTrace,
    read_system_trace,
)

__all__ = [
    "ALL_SUBTASKS_STATUSES",
    "ALL_SUBTASKS_STATUS_CHANGE_EVENT",
    "ALL_SUBTASKS_STATUS_SCOPE",
    "CHECKPOINT_EVENT",
    "CHECKPOINT_METRICS",
    "CHECKPOINT_SCOPE",
    "CHECKPOINT_SPAN",
    "CHECKPOINT_STATUSES",
    "CHECKPOINT_SUBTASK_SPAN",
    "CHECKPOINT_TASK_SPAN",
    "CHECKPOINT_TYPES",
    "EMPTY_LABEL",
    "FAILURE_LABEL_PREFIX",
    "INITIALIZATION_METRICS",
    "INITIALIZATION_STATUSES",
    "JOB_FAILURE_EVENT",
    "JOB_FAILURE_SCOPE",
    "JOB_FAILURE_SPAN",
    "JOB_INITIALIZATION_SPAN",
    "JOB_STATUSES",
    "JOB_STATUS_CHANGE_EVENT",
    "JOB_STATUS_SCOPE",
    "NO_ACK_TS_MILLIS",
    "NULL_LABEL",
    "RESTORED_STATE_LOCATIONS",
    "ROOT_JOB_ID_ATTRIBUTE",
    "SYSTEM_EVENT_SEVERITY",
    "AllSubtasksStatusChangeEventView",
    "CheckpointEventView",
    "CheckpointSpanDetailLevel",
    "CheckpointSubtaskStats",
    "CheckpointSubtaskTrace",
    "CheckpointTaskStats",
    "CheckpointTaskTrace",
    "CheckpointTrace",
    "JobFailureEventView",
    "JobFailureTrace",
    "JobInitializationTrace",
    "JobStatusChangeEventView",
    "all_subtasks_status_change_event",
    "checkpoint_event",
    "checkpoint_span",
    "job_failure_event",
    "job_failure_span",
    "job_initialization_span",
    "job_status_change_event",
    "read_system_event",
    "read_system_trace",
]
