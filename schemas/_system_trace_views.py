"""Typed, read-only views of Flink's system spans: Checkpoint, JobInitialization, JobFailure.

The views (:class:`CheckpointTrace`, :class:`JobInitializationTrace`, :class:`JobFailureTrace`)
recognise such a span, wherever it came from (the builders, the wire, a real Flink through a
reporter), and give typed access to it; a span that is not one raises
:class:`~spanstream.schemas.NotASystemTraceError` saying what was expected. Attributes added in
later Flink versions (``isUnaligned``, ``checkpointType`` in 2.0, ``metadataSize`` in 2.2) read
as ``None`` on spans written by earlier ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Self, TypeVar

from spanstream.schemas._checkpoint_spans import (
    CHECKPOINT_METRICS,
    CHECKPOINT_SCOPE,
    CHECKPOINT_SPAN,
    CHECKPOINT_SUBTASK_SPAN,
    CHECKPOINT_TASK_SPAN,
    NO_ACK_TS_MILLIS,
    ROOT_JOB_ID_ATTRIBUTE,
)
from spanstream.schemas._errors import NotASystemTraceError
from spanstream.schemas._job_spans import (
    FAILURE_LABEL_PREFIX,
    JOB_FAILURE_SCOPE,
    JOB_FAILURE_SPAN,
    JOB_INITIALIZATION_SPAN,
)
from spanstream.schemas._span import AttributeValue, Span

__all__ = [
    "CheckpointSubtaskTrace",
    "CheckpointTaskTrace",
    "CheckpointTrace",
    "JobFailureTrace",
    "JobInitializationTrace",
    "read_attribute",
    "read_flag",
    "read_system_trace",
    "scope_variables",
]

T = TypeVar("T")


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


def read_attribute(
    attributes: Mapping[str, AttributeValue],
    what: str,
    key: str,
    kind: type[T],
    *,
    required: bool = True,
) -> T | None:
    """The attribute ``key`` of ``what`` (``"a Checkpoint span"``) if it is a ``kind``.

    Raises:
        NotASystemTraceError: it is missing (when ``required``) or of another type.
    """
    value = attributes.get(key)
    if value is None:
        if required:
            raise NotASystemTraceError(
                f"expected {what} with a {kind.__name__} attribute {key!r}; it has "
                f"none (attributes: {sorted(attributes)})"
            )
        return None
    if type(value) is not kind:
        raise NotASystemTraceError(
            f"expected {what} whose attribute {key!r} is a {kind.__name__}, "
            f"got {type(value).__name__} {value!r}"
        )
    return value


def read_flag(attributes: Mapping[str, AttributeValue], what: str, key: str) -> bool | None:
    """A ``"true"``/``"false"`` attribute as a bool (``None`` when absent).

    Raises:
        NotASystemTraceError: it is another string or not a string.
    """
    text = read_attribute(attributes, what, key, str, required=False)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise NotASystemTraceError(
            f"expected {what} whose attribute {key!r} is 'true' or 'false', got {text!r}"
        )
    return text == "true"


def scope_variables(attributes: Mapping[str, AttributeValue]) -> Mapping[str, AttributeValue]:
    """The ``<...>`` attributes among ``attributes`` (the reporting group's scope variables)."""
    return MappingProxyType(
        {k: v for k, v in attributes.items() if k.startswith("<") and k.endswith(">")}
    )


def _attribute(span: Span, key: str, kind: type[T], *, required: bool = True) -> T | None:
    return read_attribute(span.attributes, f"a {span.name} span", key, kind, required=required)


def _int(span: Span, key: str) -> int:
    value = _attribute(span, key, int)
    assert value is not None
    return value


def _flag(span: Span, key: str) -> bool | None:
    return read_flag(span.attributes, f"a {span.name} span", key)


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
        return scope_variables(self.span.attributes)

    @property
    def job_id(self) -> str | None:
        """The span's ``jobId`` (Flink's job group puts it on every root span), or ``None``."""
        value = self.span.attributes.get(ROOT_JOB_ID_ATTRIBUTE)
        return value if type(value) is str else None


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
        >>> from spanstream.schemas import checkpoint_span
        >>> span = checkpoint_span(
        ...     checkpoint_id=7, trigger_ts_millis=1000, latest_ack_ts_millis=1250,
        ...     full_size_bytes=4096, checkpointed_size_bytes=512, metadata_size_bytes=1024,
        ... ).build()
        >>> trace = CheckpointTrace.from_span(span)
        >>> trace.checkpoint_id, trace.status, trace.duration_millis, trace.checkpoint_type
        (7, 'COMPLETED', 250, 'Checkpoint')
        >>> trace.is_unaligned, trace.metadata_size_bytes
        (False, 1024)
    """

    checkpoint_id: int
    status: str
    """``COMPLETED`` or ``FAILED``."""
    full_size_bytes: int
    checkpointed_size_bytes: int
    tasks: tuple[CheckpointTaskTrace, ...]
    """The ``Checkpoint_Task`` children (empty below ``CHILDREN_SPANS_PER_TASK``)."""
    metadata_size_bytes: int | None = None
    """``metadataSize`` (Flink 2.2+; ``None`` on spans of earlier versions)."""
    is_unaligned: bool | None = None
    """``isUnaligned``, which Flink writes as ``"true"``/``"false"`` (2.0+; else ``None``)."""
    checkpoint_type: str | None = None
    """``checkpointType``, e.g. ``Checkpoint`` or ``Savepoint`` (2.0+; else ``None``)."""

    @property
    def completed(self) -> bool:
        """Whether the status is ``COMPLETED``."""
        return self.status == "COMPLETED"

    @property
    def acknowledged(self) -> bool:
        """Whether any subtask acknowledged (Flink ends a checkpoint none did at -1)."""
        return self.span.end_ts_millis != NO_ACK_TS_MILLIS

    @property
    def settled_ts_millis(self) -> int:
        """When the checkpoint was last heard of: its end, or its trigger when none acknowledged.

        Use this, not the end, to order checkpoints in time: an unacknowledged one ends at -1.
        """
        return self.span.end_ts_millis if self.acknowledged else self.span.start_ts_millis

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
                ``checkpointedSize``, or a mistyped ``metadataSize``/``isUnaligned``/
                ``checkpointType``); the message says what was expected.
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
            _attribute(span, "metadataSize", int, required=False),
            _flag(span, "isUnaligned"),
            _attribute(span, "checkpointType", str, required=False),
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
    """A Flink 1.20-2.1 ``JobFailure`` span, typed (2.2+: :class:`JobFailureEventView`).

    Both views have ``failure_ts_millis``, ``can_restart``, ``is_global_failure`` and
    ``failure_labels``, so a reader of job failures can take either form.
    """

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
