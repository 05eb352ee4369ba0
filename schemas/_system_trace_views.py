"""Typed, read-only views of Flink's system spans: Checkpoint, JobInitialization, JobFailure.

The views (:class:`CheckpointTrace`, :class:`JobInitializationTrace`, :class:`JobFailureTrace`)
recognise such a span, wherever it came from (the builders, the wire, a real Flink through a
reporter), and give typed access to it; a span that is not one raises
:class:`~spanstream.schemas.NotASystemTraceError` saying what was expected. Attributes added in
later Flink versions (``isUnaligned``, ``checkpointType`` in 2.0, ``metadataSize`` in 2.2) read
as ``None`` on spans written by earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Final, Self, TypeVar

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
from spanstream.schemas._event import Event
from spanstream.schemas._job_spans import (
    FAILURE_LABEL_PREFIX,
    JOB_FAILURE_SCOPE,
    JOB_FAILURE_SPAN,
    JOB_INITIALIZATION_SPAN,
)
from spanstream.schemas._span import AttributeValue, Span

__all__ = [
    "AttributesView",
    "CheckpointSubtaskTrace",
    "CheckpointTaskTrace",
    "CheckpointTrace",
    "JobFailureTrace",
    "JobInitializationTrace",
    "attribute",
    "expect",
    "flag",
    "job_failure_fields",
    "read_attribute",
    "read_flag",
    "read_system_trace",
    "required",
    "scope_variables",
]

T = TypeVar("T")


V = TypeVar("V", Span, Event)


def expect(value: object, kind: type[V], scope: str, name: str) -> V:
    """``value`` if it is a ``kind`` (Span or Event) of ``scope`` and ``name``.

    Raises:
        NotASystemTraceError: it is not, saying what was expected.
    """
    what = kind.__name__.lower()
    if not isinstance(value, kind):
        raise NotASystemTraceError(
            f"expected a {name} {what} (scope {scope}), got a {type(value).__name__}"
        )
    if value.scope != scope or value.name != name:
        raise NotASystemTraceError(
            f"expected a {name} {what} (scope {scope}, name {name!r}), "
            f"got {value.scope}/{value.name!r}"
        )
    return value


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


def _what(value: Span | Event) -> str:
    return f"a {value.name} {type(value).__name__.lower()}"


def attribute(value: Span | Event, key: str, kind: type[T], *, required: bool = True) -> T | None:
    """The attribute ``key`` of a span or event if it is a ``kind``, as :func:`read_attribute`.

    Raises:
        NotASystemTraceError: it is missing (when ``required``) or of another type.
    """
    return read_attribute(value.attributes, _what(value), key, kind, required=required)


def required(value: Span | Event, key: str, kind: type[T]) -> T:
    """The attribute ``key`` of a span or event, which must be there and be a ``kind``.

    Raises:
        NotASystemTraceError: it is missing or of another type.
    """
    found = attribute(value, key, kind)
    assert found is not None  # required=True raises instead
    return found


def flag(value: Span | Event, key: str) -> bool | None:
    """A ``"true"``/``"false"`` attribute of a span or event, as :func:`read_flag`.

    Raises:
        NotASystemTraceError: it is another string or not a string.
    """
    return read_flag(value.attributes, _what(value), key)


L = TypeVar("L")


def job_failure_fields(
    value: Span | Event, label: Callable[[AttributeValue], L]
) -> tuple[bool | None, bool | None, Mapping[str, L]]:
    """A JobFailure span's or event's ``canRestart``, ``isGlobalFailure`` and failure labels.

    The labels are the ``failureLabel.<key>`` attributes by ``<key>``, each read by ``label``.

    Raises:
        NotASystemTraceError: a flag is not ``"true"`` or ``"false"``.
    """
    labels = {
        key[len(FAILURE_LABEL_PREFIX) :]: label(text)
        for key, text in value.attributes.items()
        if key.startswith(FAILURE_LABEL_PREFIX)
    }
    return flag(value, "canRestart"), flag(value, "isGlobalFailure"), MappingProxyType(labels)


class AttributesView:
    """What every system view reads from its span's or event's attributes."""

    __slots__ = ()

    @property
    def _attributes(self) -> Mapping[str, AttributeValue]:
        raise NotImplementedError

    @property
    def scope_variables(self) -> Mapping[str, AttributeValue]:
        """The ``<...>`` attributes the reporting group added (``<job_id>``, ``<host>``, ...)."""
        return scope_variables(self._attributes)

    @property
    def job_id(self) -> str | None:
        """The ``jobId`` (Flink's job group puts it on every root span and event), or ``None``."""
        value = self._attributes.get(ROOT_JOB_ID_ATTRIBUTE)
        return value if type(value) is str else None


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
class _SystemTrace(AttributesView):
    span: Span
    """The span this view reads."""

    _SCOPE: ClassVar[str]
    _NAME: ClassVar[str]

    @property
    def _attributes(self) -> Mapping[str, AttributeValue]:
        return self.span.attributes

    @classmethod
    def from_span(cls, span: Span) -> Self:
        """Read a span of this view's kind (its scope and name).

        Raises:
            NotASystemTraceError: ``span`` is not one: another scope or name, or an attribute
                it must have is missing or mistyped; the message says what was expected.
        """
        return cls._read(expect(span, Span, cls._SCOPE, cls._NAME))

    @classmethod
    def _read(cls, span: Span) -> Self:
        raise NotImplementedError

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

    _SCOPE: ClassVar[str] = CHECKPOINT_SCOPE
    _NAME: ClassVar[str] = CHECKPOINT_SUBTASK_SPAN

    @classmethod
    def _read(cls, span: Span) -> Self:
        metrics = {m: v for m in CHECKPOINT_METRICS if type(v := span.attributes.get(m)) is int}
        return cls(
            span,
            attribute(span, "jobVertexId", str) or "",
            required(span, "subtaskId", int),
            MappingProxyType(metrics),
        )


@dataclass(frozen=True, slots=True)
class CheckpointTaskTrace(_Aggregated):
    """A ``Checkpoint_Task`` span: one task's aggregates and its subtasks."""

    job_vertex_id: str
    subtasks: tuple[CheckpointSubtaskTrace, ...]

    _SCOPE: ClassVar[str] = CHECKPOINT_SCOPE
    _NAME: ClassVar[str] = CHECKPOINT_TASK_SPAN

    @classmethod
    def _read(cls, span: Span) -> Self:
        return cls(
            span,
            _aggregates(span),
            attribute(span, "jobVertexId", str) or "",
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

    _SCOPE: ClassVar[str] = CHECKPOINT_SCOPE
    _NAME: ClassVar[str] = CHECKPOINT_SPAN

    @classmethod
    def _read(cls, span: Span) -> Self:
        return cls(
            span,
            _aggregates(span),
            required(span, "checkpointId", int),
            attribute(span, "checkpointStatus", str) or "",
            required(span, "fullSize", int),
            required(span, "checkpointedSize", int),
            tuple(
                CheckpointTaskTrace.from_span(child)
                for child in span.children
                if child.name == CHECKPOINT_TASK_SPAN
            ),
            attribute(span, "metadataSize", int, required=False),
            flag(span, "isUnaligned"),
            attribute(span, "checkpointType", str, required=False),
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

    _SCOPE: ClassVar[str] = CHECKPOINT_SCOPE
    _NAME: ClassVar[str] = JOB_INITIALIZATION_SPAN

    @classmethod
    def _read(cls, span: Span) -> Self:
        return cls(
            span,
            _aggregates(span),
            attribute(span, "initializationStatus", str) or "",
            attribute(span, "checkpointId", int, required=False),
            attribute(span, "fullSize", int, required=False),
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

    _SCOPE: ClassVar[str] = JOB_FAILURE_SCOPE
    _NAME: ClassVar[str] = JOB_FAILURE_SPAN

    @classmethod
    def _read(cls, span: Span) -> Self:
        return cls(span, *job_failure_fields(span, str))


def read_system_trace(
    span: Span,
) -> CheckpointTrace | JobInitializationTrace | JobFailureTrace | None:
    """Return the typed view of a top-level Flink system trace, or ``None`` for any other span.

    Raises:
        NotASystemTraceError: the span has a system trace's scope and name but not its
            attributes.
    """
    view = _TOP_LEVEL.get((span.scope, span.name))
    return None if view is None else view.from_span(span)


_TOP_LEVEL: Final[
    Mapping[tuple[str, str], type[CheckpointTrace | JobInitializationTrace | JobFailureTrace]]
] = {
    (view._SCOPE, view._NAME): view
    for view in (CheckpointTrace, JobInitializationTrace, JobFailureTrace)
}
