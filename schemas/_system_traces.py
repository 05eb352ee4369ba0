"""Flink's system traces as pure data: builders that report them and views that read them.

Flink reports three kinds of span on its own (see ``flink-traces.md``):

- ``Checkpoint`` (scope ``org.apache.flink.runtime.checkpoint.CheckpointStatsTracker``), with
  ``Checkpoint_Task`` children and ``Checkpoint_Subtask`` grandchildren at the detail levels of
  ``traces.checkpoint.span-detail-level``;
- ``JobInitialization`` (same scope);
- ``JobFailure`` (scope ``org.apache.flink.runtime.scheduler.adaptive.JobFailureMetricReporter``).

The builders reproduce the scopes, names, attribute names and aggregation rules of Flink's
``CheckpointStatsTracker`` and ``JobFailureMetricReporter``; a Python job reports them through
``MetricGroup.add_span`` exactly as Flink would. The views (:class:`CheckpointTrace`,
:class:`JobInitializationTrace`, :class:`JobFailureTrace`) recognise such a span, wherever it
came from, and give typed, read-only access to it; a span that is not one raises
:class:`~spanstream.schemas.NotASystemTraceError` saying what was expected.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Self, TypeVar

from spanstream.schemas._errors import NotASystemTraceError
from spanstream.schemas._span import AttributeValue, Span, SpanBuilder

__all__ = [
    "CHECKPOINT_METRICS",
    "CHECKPOINT_SCOPE",
    "CHECKPOINT_SPAN",
    "CHECKPOINT_SUBTASK_SPAN",
    "CHECKPOINT_TASK_SPAN",
    "FAILURE_LABEL_PREFIX",
    "INITIALIZATION_METRICS",
    "JOB_FAILURE_SCOPE",
    "JOB_FAILURE_SPAN",
    "JOB_INITIALIZATION_SPAN",
    "RESTORED_STATE_LOCATIONS",
    "CheckpointSpanDetailLevel",
    "CheckpointSubtaskStats",
    "CheckpointSubtaskTrace",
    "CheckpointTaskStats",
    "CheckpointTaskTrace",
    "CheckpointTrace",
    "JobFailureTrace",
    "JobInitializationTrace",
    "checkpoint_span",
    "job_failure_span",
    "job_initialization_span",
    "read_system_trace",
]

CHECKPOINT_SCOPE: Final = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
"""The scope of Flink's ``Checkpoint`` and ``JobInitialization`` spans."""
JOB_FAILURE_SCOPE: Final = "org.apache.flink.runtime.scheduler.adaptive.JobFailureMetricReporter"
"""The scope of Flink's ``JobFailure`` span."""
CHECKPOINT_SPAN: Final = "Checkpoint"
CHECKPOINT_TASK_SPAN: Final = "Checkpoint_Task"
CHECKPOINT_SUBTASK_SPAN: Final = "Checkpoint_Subtask"
JOB_INITIALIZATION_SPAN: Final = "JobInitialization"
JOB_FAILURE_SPAN: Final = "JobFailure"
FAILURE_LABEL_PREFIX: Final = "failureLabel."

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

# Flink leaves these two sums off the Checkpoint span: fullSize and checkpointedSize carry them.
_SUMS_CARRIED_ELSEWHERE: Final = {
    "StateSizeBytes": "fullSize",
    "CheckpointedSizeBytes": "checkpointedSize",
}

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

_CHECKPOINT_STATUSES: Final = ("COMPLETED", "FAILED")

T = TypeVar("T")


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


# -- builders --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckpointSubtaskStats:
    """One subtask's share of a checkpoint (Flink's ``SubtaskStateStats``).

    Attributes:
        subtask_id: the subtask index.
        ack_ts_millis: when the subtask acknowledged the checkpoint.
        metrics: values of :data:`CHECKPOINT_METRICS` (a missing metric counts as 0).
    """

    subtask_id: int
    ack_ts_millis: int
    metrics: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.metrics) - set(CHECKPOINT_METRICS)
        if unknown:
            raise ValueError(
                f"unknown checkpoint metrics {sorted(unknown)}; expected {list(CHECKPOINT_METRICS)}"
            )
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    def metric(self, name: str) -> int:
        """The value of one of :data:`CHECKPOINT_METRICS` (0 when not given)."""
        return self.metrics.get(name, 0)


@dataclass(frozen=True, slots=True)
class CheckpointTaskStats:
    """One task (job vertex) of a checkpoint, with its subtasks (Flink's ``TaskStateStats``)."""

    job_vertex_id: str
    subtasks: tuple[CheckpointSubtaskStats, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "subtasks", tuple(self.subtasks))
        if not self.subtasks:
            raise ValueError(f"task {self.job_vertex_id}: a task needs at least one subtask")

    @property
    def latest_ack_ts_millis(self) -> int:
        """The last acknowledgement among the subtasks."""
        return max(subtask.ack_ts_millis for subtask in self.subtasks)

    def max(self, metric: str) -> int:
        """The maximum of ``metric`` over the subtasks."""
        return max(subtask.metric(metric) for subtask in self.subtasks)

    def sum(self, metric: str) -> int:
        """The sum of ``metric`` over the subtasks."""
        return sum(subtask.metric(metric) for subtask in self.subtasks)


def _java_long_array(values: Iterable[int]) -> str:
    # Flink writes per-task arrays with Java's Arrays.toString: "[1, 2, 3]".
    return "[" + ", ".join(str(value) for value in values) + "]"


def checkpoint_span(
    *,
    checkpoint_id: int,
    trigger_ts_millis: int,
    latest_ack_ts_millis: int,
    full_size_bytes: int,
    checkpointed_size_bytes: int,
    status: str = "COMPLETED",
    tasks: Sequence[CheckpointTaskStats] = (),
    aggregates: Mapping[str, tuple[int, int]] | None = None,
    detail_level: CheckpointSpanDetailLevel | str = CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT,
) -> SpanBuilder:
    """Build Flink's ``Checkpoint`` span, as ``CheckpointStatsTracker`` reports it.

    Args:
        checkpoint_id: ``checkpointId``.
        trigger_ts_millis: the start (the checkpoint's trigger time).
        latest_ack_ts_millis: the end (its last acknowledgement).
        full_size_bytes: ``fullSize``, the bytes the checkpoint references.
        checkpointed_size_bytes: ``checkpointedSize``, the bytes this checkpoint wrote.
        status: ``checkpointStatus``: ``COMPLETED`` or ``FAILED``.
        tasks: per-task statistics; the ``max<M>``/``sum<M>`` aggregates are computed from them
            by Flink's rules (maxima over positive values, sums over non-negative ones), and
            the task children and subtask grandchildren come from them.
        aggregates: ``{metric: (max, sum)}`` to use instead of computing them from ``tasks``
            (for callers that only know the totals); missing metrics are 0, as in Flink.
        detail_level: Flink's ``traces.checkpoint.span-detail-level``.

    Raises:
        ValueError: an unknown status, detail level or aggregate metric.
    """
    if status not in _CHECKPOINT_STATUSES:
        raise ValueError(f"checkpoint status {status!r}: expected one of {_CHECKPOINT_STATUSES}")
    level = CheckpointSpanDetailLevel(detail_level)
    if aggregates is not None and set(aggregates) - set(CHECKPOINT_METRICS):
        unknown = sorted(set(aggregates) - set(CHECKPOINT_METRICS))
        raise ValueError(
            f"unknown checkpoint metrics {unknown}; expected {list(CHECKPOINT_METRICS)}"
        )
    builder = (
        SpanBuilder(CHECKPOINT_SCOPE, CHECKPOINT_SPAN)
        .set_start_ts_millis(trigger_ts_millis)
        .set_end_ts_millis(latest_ack_ts_millis)
        .set_attribute("checkpointId", checkpoint_id)
        .set_attribute("fullSize", full_size_bytes)
        .set_attribute("checkpointedSize", checkpointed_size_bytes)
        .set_attribute("checkpointStatus", status)
    )
    # Flink orders tasks by their earliest checkpoint start delay.
    ordered = sorted(
        tasks, key=lambda task: min(s.metric("CheckpointStartDelayMs") for s in task.subtasks)
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


def _task_span(
    checkpoint_id: int, trigger_ts_millis: int, task: CheckpointTaskStats, *, with_subtasks: bool
) -> SpanBuilder:
    start_delay = min(subtask.metric("CheckpointStartDelayMs") for subtask in task.subtasks)
    builder = (
        SpanBuilder(CHECKPOINT_SCOPE, CHECKPOINT_TASK_SPAN)
        .set_start_ts_millis(trigger_ts_millis + start_delay)
        .set_end_ts_millis(task.latest_ack_ts_millis)
        .set_attribute("checkpointId", checkpoint_id)
        .set_attribute("jobVertexId", task.job_vertex_id)
    )
    for metric in CHECKPOINT_METRICS:
        builder.set_attribute("max" + metric, task.max(metric))
        builder.set_attribute("sum" + metric, task.sum(metric))
    if with_subtasks:
        for subtask in task.subtasks:
            child = (
                SpanBuilder(CHECKPOINT_SCOPE, CHECKPOINT_SUBTASK_SPAN)
                .set_start_ts_millis(trigger_ts_millis + subtask.metric("CheckpointStartDelayMs"))
                .set_end_ts_millis(subtask.ack_ts_millis)
                .set_attribute("checkpointId", checkpoint_id)
                .set_attribute("jobVertexId", task.job_vertex_id)
                .set_attribute("subtaskId", subtask.subtask_id)
            )
            for metric in CHECKPOINT_METRICS:
                child.set_attribute(metric, subtask.metric(metric))
            builder.add_child(child)
    return builder


def job_initialization_span(
    *,
    start_ts_millis: int,
    end_ts_millis: int,
    status: str = "COMPLETED",
    checkpoint_id: int | None = None,
    full_size_bytes: int | None = None,
    durations: Mapping[str, tuple[int, int]] | None = None,
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
    """
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
    return builder


def job_failure_span(
    *,
    failure_ts_millis: int,
    can_restart: bool | None = None,
    is_global_failure: bool | None = None,
    failure_labels: Mapping[str, str] | None = None,
) -> SpanBuilder:
    """Build Flink's ``JobFailure`` span (start = end = the failure time).

    ``canRestart`` and ``isGlobalFailure`` are the strings ``"true"``/``"false"`` (as Flink's
    ``String.valueOf(Boolean)``), left out when unknown; each label becomes
    ``failureLabel.<key>``.
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
        builder.set_attribute(FAILURE_LABEL_PREFIX + key, value)
    return builder


# -- views -------------------------------------------------------------------------------------


def _expect(span: object, scope: str, name: str) -> Span:
    if not isinstance(span, Span):
        raise NotASystemTraceError(
            f"expected a {name} span (scope {scope}), got a {type(span).__name__}"
        )
    if span.scope != scope or span.name != name:
        raise NotASystemTraceError(
            f"expected a {name} span (scope {scope}, name {name!r}), got {span.scope}/{span.name!r}"
        )
    return span


def _attribute(span: Span, key: str, kind: type[T], *, required: bool = True) -> T | None:
    value = span.attributes.get(key)
    if value is None:
        if required:
            raise NotASystemTraceError(
                f"expected a {span.name} span with a {kind.__name__} attribute {key!r}; it has "
                f"none (attributes: {sorted(span.attributes)})"
            )
        return None
    if type(value) is not kind:
        raise NotASystemTraceError(
            f"expected a {span.name} span whose attribute {key!r} is a {kind.__name__}, "
            f"got {type(value).__name__} {value!r}"
        )
    return value


def _int(span: Span, key: str) -> int:
    value = _attribute(span, key, int)
    assert value is not None
    return value


def _flag(span: Span, key: str) -> bool | None:
    text = _attribute(span, key, str, required=False)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise NotASystemTraceError(
            f"expected a {span.name} span whose attribute {key!r} is 'true' or 'false', "
            f"got {text!r}"
        )
    return text == "true"


def _aggregates(span: Span) -> Mapping[str, tuple[int | None, int | None]]:
    names: dict[str, None] = {}
    for key in span.attributes:
        for prefix in ("max", "sum"):
            rest = key[len(prefix) :]
            if key.startswith(prefix) and rest[:1].isupper():
                names[rest] = None
    result: dict[str, tuple[int | None, int | None]] = {}
    for metric in names:
        maximum, total = span.attributes.get("max" + metric), span.attributes.get("sum" + metric)
        result[metric] = (
            maximum if type(maximum) is int else None,
            total if type(total) is int else None,
        )
    return MappingProxyType(result)


@dataclass(frozen=True, slots=True)
class _SystemTrace:
    span: Span
    """The span this view reads."""

    @property
    def start_ts_millis(self) -> int:
        """The span's start, epoch milliseconds."""
        return self.span.start_ts_millis

    @property
    def end_ts_millis(self) -> int:
        """The span's end, epoch milliseconds."""
        return self.span.end_ts_millis

    @property
    def duration_millis(self) -> int:
        """End minus start."""
        return self.span.duration_millis

    @property
    def scope_variables(self) -> Mapping[str, AttributeValue]:
        """The ``<...>`` attributes the reporting group added (``<job_id>``, ``<host>``, ...)."""
        return MappingProxyType(
            {k: v for k, v in self.span.attributes.items() if k.startswith("<") and k.endswith(">")}
        )


@dataclass(frozen=True, slots=True)
class _Aggregated(_SystemTrace):
    aggregates: Mapping[str, tuple[int | None, int | None]]
    """``{metric: (max, sum)}`` from the ``max<M>``/``sum<M>`` attributes (``None`` if absent)."""

    def max(self, metric: str) -> int | None:
        """``max<metric>``, or ``None``."""
        return self.aggregates.get(metric, (None, None))[0]

    def sum(self, metric: str) -> int | None:
        """``sum<metric>``, or ``None``."""
        return self.aggregates.get(metric, (None, None))[1]


@dataclass(frozen=True, slots=True)
class CheckpointSubtaskTrace(_SystemTrace):
    """A ``Checkpoint_Subtask`` span."""

    job_vertex_id: str
    subtask_id: int
    metrics: Mapping[str, int]
    """The subtask's :data:`CHECKPOINT_METRICS` values that the span carries."""

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a ``Checkpoint_Subtask`` span.

        Raises:
            NotASystemTraceError: ``span`` is not one.
        """
        span = _expect(span, CHECKPOINT_SCOPE, CHECKPOINT_SUBTASK_SPAN)
        metrics = {m: v for m in CHECKPOINT_METRICS if type(v := span.attributes.get(m)) is int}
        return cls(
            span,
            _attribute(span, "jobVertexId", str) or "",
            _int(span, "subtaskId"),
            MappingProxyType(metrics),
        )


@dataclass(frozen=True, slots=True)
class CheckpointTaskTrace(_Aggregated):
    """A ``Checkpoint_Task`` span: one task's aggregates and its subtasks."""

    job_vertex_id: str
    subtasks: tuple[CheckpointSubtaskTrace, ...]

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a ``Checkpoint_Task`` span.

        Raises:
            NotASystemTraceError: ``span`` is not one.
        """
        span = _expect(span, CHECKPOINT_SCOPE, CHECKPOINT_TASK_SPAN)
        return cls(
            span,
            _aggregates(span),
            _attribute(span, "jobVertexId", str) or "",
            tuple(
                CheckpointSubtaskTrace.from_span(child)
                for child in span.children
                if child.name == CHECKPOINT_SUBTASK_SPAN
            ),
        )


@dataclass(frozen=True, slots=True)
class CheckpointTrace(_Aggregated):
    """A Flink ``Checkpoint`` span, typed.

    Example:
        >>> span = checkpoint_span(
        ...     checkpoint_id=7, trigger_ts_millis=1000, latest_ack_ts_millis=1250,
        ...     full_size_bytes=4096, checkpointed_size_bytes=512,
        ... ).build()
        >>> trace = CheckpointTrace.from_span(span)
        >>> trace.checkpoint_id, trace.status, trace.duration_millis, trace.checkpointed_size_bytes
        (7, 'COMPLETED', 250, 512)
    """

    checkpoint_id: int
    status: str
    """``COMPLETED`` or ``FAILED``."""
    full_size_bytes: int
    checkpointed_size_bytes: int
    tasks: tuple[CheckpointTaskTrace, ...]
    """The ``Checkpoint_Task`` children (empty below ``CHILDREN_SPANS_PER_TASK``)."""

    @property
    def completed(self) -> bool:
        """Whether the status is ``COMPLETED``."""
        return self.status == "COMPLETED"

    def sum(self, metric: str) -> int | None:
        """``sum<metric>``, or ``None``.

        Flink leaves ``sumStateSizeBytes`` and ``sumCheckpointedSizeBytes`` off the span; they
        are ``fullSize`` and ``checkpointedSize``, which this returns for them.
        """
        if metric == "StateSizeBytes":
            return self.full_size_bytes
        if metric == "CheckpointedSizeBytes":
            return self.checkpointed_size_bytes
        return self.aggregates.get(metric, (None, None))[1]

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a ``Checkpoint`` span.

        Raises:
            NotASystemTraceError: ``span`` is not a Checkpoint span (scope, name, or a missing
                or mistyped ``checkpointId``/``checkpointStatus``/``fullSize``/
                ``checkpointedSize``); the message says what was expected.
        """
        span = _expect(span, CHECKPOINT_SCOPE, CHECKPOINT_SPAN)
        return cls(
            span,
            _aggregates(span),
            _int(span, "checkpointId"),
            _attribute(span, "checkpointStatus", str) or "",
            _int(span, "fullSize"),
            _int(span, "checkpointedSize"),
            tuple(
                CheckpointTaskTrace.from_span(child)
                for child in span.children
                if child.name == CHECKPOINT_TASK_SPAN
            ),
        )


@dataclass(frozen=True, slots=True)
class JobInitializationTrace(_Aggregated):
    """A Flink ``JobInitialization`` span, typed."""

    status: str
    """``initializationStatus``."""
    checkpoint_id: int | None
    """The checkpoint restored from, or ``None`` for a fresh start."""
    full_size_bytes: int | None
    """The restored state size, or ``None``."""

    def restored_state_size_bytes(self, location: str) -> tuple[int | None, int | None]:
        """``(max, sum)`` of ``RestoredStateSizeBytes.<location>``, or ``None`` each."""
        return self.aggregates.get(f"RestoredStateSizeBytes.{location}", (None, None))

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a ``JobInitialization`` span.

        Raises:
            NotASystemTraceError: ``span`` is not one.
        """
        span = _expect(span, CHECKPOINT_SCOPE, JOB_INITIALIZATION_SPAN)
        return cls(
            span,
            _aggregates(span),
            _attribute(span, "initializationStatus", str) or "",
            _attribute(span, "checkpointId", int, required=False),
            _attribute(span, "fullSize", int, required=False),
        )


@dataclass(frozen=True, slots=True)
class JobFailureTrace(_SystemTrace):
    """A Flink ``JobFailure`` span, typed."""

    can_restart: bool | None
    """``canRestart``, or ``None`` when Flink did not say."""
    is_global_failure: bool | None
    """``isGlobalFailure``, or ``None`` when Flink did not say."""
    failure_labels: Mapping[str, str]
    """The ``failureLabel.<key>`` attributes, keyed by ``<key>``."""

    @property
    def failure_ts_millis(self) -> int:
        """When the job failed (the span's start and end)."""
        return self.span.start_ts_millis

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a ``JobFailure`` span.

        Raises:
            NotASystemTraceError: ``span`` is not one.
        """
        span = _expect(span, JOB_FAILURE_SCOPE, JOB_FAILURE_SPAN)
        labels = {
            key[len(FAILURE_LABEL_PREFIX) :]: str(value)
            for key, value in span.attributes.items()
            if key.startswith(FAILURE_LABEL_PREFIX)
        }
        return cls(
            span,
            _flag(span, "canRestart"),
            _flag(span, "isGlobalFailure"),
            MappingProxyType(labels),
        )


def read_system_trace(
    span: Span,
) -> CheckpointTrace | JobInitializationTrace | JobFailureTrace | None:
    """Return the typed view of a top-level Flink system trace, or ``None`` for any other span.

    Raises:
        NotASystemTraceError: the span has a system trace's scope and name but not its
            attributes.
    """
    if span.scope == CHECKPOINT_SCOPE:
        if span.name == CHECKPOINT_SPAN:
            return CheckpointTrace.from_span(span)
        if span.name == JOB_INITIALIZATION_SPAN:
            return JobInitializationTrace.from_span(span)
    elif span.scope == JOB_FAILURE_SCOPE and span.name == JOB_FAILURE_SPAN:
        return JobFailureTrace.from_span(span)
    return None
