"""Flink's ``Checkpoint`` span and its task and subtask children, as pure data.

Flink 2.3's ``DefaultCheckpointStatsTracker`` reports one ``Checkpoint`` span per completed or
failed checkpoint (scope ``org.apache.flink.runtime.checkpoint.CheckpointStatsTracker``), with
``Checkpoint_Task`` children and ``Checkpoint_Subtask`` grandchildren at the detail levels of
``traces.checkpoint.span-detail-level``. :func:`checkpoint_span` reproduces its attribute
names, types and aggregation rules (``flink-2.3-traces-and-events.md`` §8).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from spanstream.schemas._attributes import AttributeValue
from spanstream.schemas._errors import SpanValueError
from spanstream.schemas._span import SpanBuilder

__all__ = [
    "CHECKPOINT_METRICS",
    "CHECKPOINT_SCOPE",
    "CHECKPOINT_SPAN",
    "CHECKPOINT_STATUSES",
    "CHECKPOINT_SUBTASK_SPAN",
    "CHECKPOINT_TASK_SPAN",
    "CHECKPOINT_TYPES",
    "NO_ACK_TS_MILLIS",
    "ROOT_JOB_ID_ATTRIBUTE",
    "CheckpointSpanDetailLevel",
    "CheckpointSubtaskStats",
    "CheckpointTaskStats",
    "checkpoint_attributes",
    "checkpoint_span",
]

CHECKPOINT_SCOPE: Final = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
"""The scope of Flink's ``Checkpoint`` and ``JobInitialization`` spans."""
CHECKPOINT_SPAN: Final = "Checkpoint"
"""The name of Flink's checkpoint span."""
CHECKPOINT_TASK_SPAN: Final = "Checkpoint_Task"
"""The name of a checkpoint span's per-task child."""
CHECKPOINT_SUBTASK_SPAN: Final = "Checkpoint_Subtask"
"""The name of a task child's per-subtask child."""
ROOT_JOB_ID_ATTRIBUTE: Final = "jobId"
"""The attribute Flink's job metric group puts on every root span and event (the job's id)."""
NO_ACK_TS_MILLIS: Final = -1
"""Flink's latest acknowledgement when no subtask acknowledged: the end of such a checkpoint."""

CHECKPOINT_METRICS: Final = (
    "StateSizeBytes",
    "CheckpointedSizeBytes",
    "CheckpointStartDelayMs",
    "AlignmentDurationMs",
    "SyncCheckpointDurationMs",
    "AsyncCheckpointDurationMs",
    "ProcessedDataBytes",
    "PersistedDataBytes",
)
"""The per-subtask checkpoint metrics, in Flink's order: ``max<M>``/``sum<M>`` on the spans."""

CHECKPOINT_STATUSES: Final = ("COMPLETED", "FAILED")
"""The values of ``checkpointStatus``."""

CHECKPOINT_TYPES: Final = (
    "Checkpoint",
    "Full Checkpoint",
    "Savepoint",
    "Terminate Savepoint",
    "Suspend Savepoint",
)
"""The values of ``checkpointType`` (Flink's ``CheckpointType``/``SavepointType`` names)."""

# Flink leaves these two sums off the Checkpoint span: fullSize and checkpointedSize carry them.
_SUMS_CARRIED_ELSEWHERE: Final = frozenset({"StateSizeBytes", "CheckpointedSizeBytes"})


class CheckpointSpanDetailLevel(enum.StrEnum):
    """Flink's ``traces.checkpoint.span-detail-level``."""

    SPAN_PER_CHECKPOINT = "SPAN_PER_CHECKPOINT"
    """One span with max/sum aggregates over all subtasks (Flink's default)."""
    SPAN_PER_CHECKPOINT_WITH_TASKS = "SPAN_PER_CHECKPOINT_WITH_TASKS"
    """Also ``perTaskMax<M>``/``perTaskSum<M>`` attributes: one value per task, as text."""
    CHILDREN_SPANS_PER_TASK = "CHILDREN_SPANS_PER_TASK"
    """Also a ``Checkpoint_Task`` child span per task."""
    CHILDREN_SPANS_PER_SUBTASK = "CHILDREN_SPANS_PER_SUBTASK"
    """Also a ``Checkpoint_Subtask`` grandchild span per subtask."""


@dataclass(frozen=True, slots=True)
class CheckpointSubtaskStats:
    """One subtask's acknowledgement of a checkpoint (Flink's ``SubtaskStateStats``).

    Only subtasks that acknowledged have stats, as in Flink; leave the others out.

    Attributes:
        subtask_id: the subtask index.
        ack_ts_millis: when the subtask acknowledged the checkpoint.
        metrics: values of :data:`CHECKPOINT_METRICS` (a missing metric counts as 0; a
            negative one, Flink's "unknown", is left out of the task's aggregates).
    """

    subtask_id: int
    ack_ts_millis: int
    metrics: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.metrics) - set(CHECKPOINT_METRICS)
        if unknown:
            raise SpanValueError(
                f"unknown checkpoint metrics {sorted(unknown)}; expected {list(CHECKPOINT_METRICS)}"
            )
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    def metric(self, name: str) -> int:
        """The value of one of :data:`CHECKPOINT_METRICS` (0 when not given)."""
        return self.metrics.get(name, 0)


@dataclass(frozen=True, slots=True)
class CheckpointTaskStats:
    """One task (job vertex) of a checkpoint, with its subtasks (Flink's ``TaskStateStats``).

    ``subtasks`` are the subtasks that acknowledged; none is allowed (a checkpoint that failed
    before any acknowledgement), and then the task's latest acknowledgement is -1, as in Flink.
    The aggregates follow Flink's ``StatsSummary``: negative values are ignored, and the
    minimum or maximum of no values is 0.
    """

    job_vertex_id: str
    subtasks: tuple[CheckpointSubtaskStats, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "subtasks", tuple(self.subtasks))

    def _values(self, metric: str) -> list[int]:
        return [v for v in (s.metric(metric) for s in self.subtasks) if v >= 0]

    @property
    def latest_ack_ts_millis(self) -> int:
        """The last acknowledgement among the subtasks (-1 when none acknowledged)."""
        return max((s.ack_ts_millis for s in self.subtasks), default=NO_ACK_TS_MILLIS)

    def min(self, metric: str) -> int:
        """The minimum of ``metric`` over the subtasks, ignoring negative values (0 for none)."""
        return min(self._values(metric), default=0)

    def max(self, metric: str) -> int:
        """The maximum of ``metric`` over the subtasks, ignoring negative values (0 for none)."""
        return max(self._values(metric), default=0)

    def sum(self, metric: str) -> int:
        """The sum of ``metric`` over the subtasks, ignoring negative values."""
        return sum(self._values(metric))


def _java_long_array(values: Iterable[int]) -> str:
    # Flink writes per-task arrays with Java's Arrays.toString: "[1, 2, 3]".
    return "[" + ", ".join(str(value) for value in values) + "]"


def checkpoint_attributes(
    *,
    checkpoint_id: int,
    full_size_bytes: int,
    checkpointed_size_bytes: int,
    metadata_size_bytes: int,
    status: str,
    is_unaligned: bool,
    checkpoint_type: str,
) -> dict[str, AttributeValue]:
    """The attributes the ``Checkpoint`` span and the ``CheckpointEvent`` share, in Flink's order.

    Raises:
        SpanValueError: an unknown status or checkpoint type, naming the accepted values.
    """
    if status not in CHECKPOINT_STATUSES:
        raise SpanValueError(f"checkpoint status {status!r}: expected one of {CHECKPOINT_STATUSES}")
    if checkpoint_type not in CHECKPOINT_TYPES:
        raise SpanValueError(
            f"checkpoint type {checkpoint_type!r}: expected one of {CHECKPOINT_TYPES}"
        )
    return {
        "checkpointId": checkpoint_id,
        "fullSize": full_size_bytes,
        "checkpointedSize": checkpointed_size_bytes,
        "metadataSize": metadata_size_bytes,
        "checkpointStatus": status,
        "isUnaligned": "true" if is_unaligned else "false",  # a string, as Flink writes it
        "checkpointType": checkpoint_type,
    }


def checkpoint_span(
    *,
    checkpoint_id: int,
    trigger_ts_millis: int,
    latest_ack_ts_millis: int | None = None,
    full_size_bytes: int,
    checkpointed_size_bytes: int,
    metadata_size_bytes: int = -1,
    status: str = "COMPLETED",
    is_unaligned: bool = False,
    checkpoint_type: str = "Checkpoint",
    tasks: Sequence[CheckpointTaskStats] = (),
    aggregates: Mapping[str, tuple[int, int]] | None = None,
    detail_level: CheckpointSpanDetailLevel | str = CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT,
    job_id: str | None = None,
) -> SpanBuilder:
    """Build Flink 2.3's ``Checkpoint`` span, as ``DefaultCheckpointStatsTracker`` reports it.

    Args:
        checkpoint_id: ``checkpointId``.
        trigger_ts_millis: the start (the checkpoint's trigger time).
        latest_ack_ts_millis: the end (its last acknowledgement). By default the latest
            acknowledgement among ``tasks``; -1 (:data:`NO_ACK_TS_MILLIS`) when no subtask
            acknowledged, as Flink reports a checkpoint that failed before any did.
        full_size_bytes: ``fullSize``, the bytes the checkpoint references.
        checkpointed_size_bytes: ``checkpointedSize``, the bytes this checkpoint wrote.
        metadata_size_bytes: ``metadataSize``, the size of the checkpoint's metadata file;
            -1 when there is none (what Flink reports for a checkpoint that failed before any
            acknowledgement).
        status: ``checkpointStatus``: ``COMPLETED`` or ``FAILED``.
        is_unaligned: ``isUnaligned``, written as the string ``"true"``/``"false"`` as Flink
            does.
        checkpoint_type: ``checkpointType``, one of :data:`CHECKPOINT_TYPES`.
        tasks: per-task statistics; the ``max<M>``/``sum<M>`` aggregates are computed from them
            by Flink's rules (maxima over positive values, sums over non-negative ones), and
            the task children and subtask grandchildren come from them.
        aggregates: ``{metric: (max, sum)}`` to use instead of computing them from ``tasks``
            (for callers that only know the totals); missing metrics are 0, as in Flink.
        detail_level: Flink's ``traces.checkpoint.span-detail-level``.
        job_id: ``jobId``, which Flink's job metric group puts on the root span; pass it when
            reporting through a group that does not.

    Raises:
        ValueError: an unknown status, checkpoint type, detail level or aggregate metric.
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
    level = CheckpointSpanDetailLevel(detail_level)
    if aggregates is not None and set(aggregates) - set(CHECKPOINT_METRICS):
        unknown = sorted(set(aggregates) - set(CHECKPOINT_METRICS))
        raise SpanValueError(
            f"unknown checkpoint metrics {unknown}; expected {list(CHECKPOINT_METRICS)}"
        )
    # Flink orders tasks by their earliest checkpoint start delay.
    ordered = sorted(tasks, key=lambda task: task.min("CheckpointStartDelayMs"))
    if latest_ack_ts_millis is None:
        latest_ack_ts_millis = max(
            (t.latest_ack_ts_millis for t in ordered), default=NO_ACK_TS_MILLIS
        )
    builder = (
        SpanBuilder(CHECKPOINT_SCOPE, CHECKPOINT_SPAN)
        .set_start_ts_millis(trigger_ts_millis)
        .set_end_ts_millis(latest_ack_ts_millis)
        .set_attributes(attributes)
    )
    for metric in CHECKPOINT_METRICS:
        if aggregates is not None:
            total_max, total_sum = aggregates.get(metric, (0, 0))
        else:
            total_max = max((v for v in (t.max(metric) for t in ordered) if v > 0), default=0)
            total_sum = sum(v for v in (t.sum(metric) for t in ordered) if v >= 0)
        builder.set_attribute("max" + metric, total_max)
        if metric not in _SUMS_CARRIED_ELSEWHERE:
            builder.set_attribute("sum" + metric, total_sum)
        if level is CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT_WITH_TASKS:
            builder.set_attribute(
                "perTaskMax" + metric, _java_long_array(t.max(metric) for t in ordered)
            )
            builder.set_attribute(
                "perTaskSum" + metric, _java_long_array(t.sum(metric) for t in ordered)
            )
    if job_id is not None:
        builder.set_attribute(ROOT_JOB_ID_ATTRIBUTE, job_id)
    if level in (
        CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_TASK,
        CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK,
    ):
        with_subtasks = level is CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK
        builder.add_children(
            _task_span(checkpoint_id, trigger_ts_millis, task, with_subtasks=with_subtasks)
            for task in ordered
        )
    return builder


def _child_span(
    name: str, checkpoint_id: int, job_vertex_id: str, start_ts_millis: int, end_ts_millis: int
) -> SpanBuilder:
    return (
        SpanBuilder(CHECKPOINT_SCOPE, name)
        .set_start_ts_millis(start_ts_millis)
        .set_end_ts_millis(end_ts_millis)
        .set_attribute("checkpointId", checkpoint_id)
        .set_attribute("jobVertexId", job_vertex_id)
    )


def _task_span(
    checkpoint_id: int, trigger_ts_millis: int, task: CheckpointTaskStats, *, with_subtasks: bool
) -> SpanBuilder:
    start = trigger_ts_millis + task.min("CheckpointStartDelayMs")
    end = task.latest_ack_ts_millis
    builder = _child_span(CHECKPOINT_TASK_SPAN, checkpoint_id, task.job_vertex_id, start, end)
    for metric in CHECKPOINT_METRICS:
        builder.set_attribute("max" + metric, task.max(metric))
        builder.set_attribute("sum" + metric, task.sum(metric))
    if with_subtasks:
        for subtask in task.subtasks:
            start = trigger_ts_millis + subtask.metric("CheckpointStartDelayMs")
            end = subtask.ack_ts_millis
            child = _child_span(
                CHECKPOINT_SUBTASK_SPAN, checkpoint_id, task.job_vertex_id, start, end
            )
            child.set_attribute("subtaskId", subtask.subtask_id)
            for metric in CHECKPOINT_METRICS:
                child.set_attribute(metric, subtask.metric(metric))
            builder.add_child(child)
    return builder
