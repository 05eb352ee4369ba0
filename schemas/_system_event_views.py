"""Typed, read-only views of Flink 2.2+'s system events, as the span views read system spans.

:func:`read_system_event` is :func:`~spanstream.schemas.system.read_system_trace`'s counterpart: it
recognises ``CheckpointEvent``, ``JobStatusChangeEvent``, ``JobFailureEvent`` and
``AllSubtasksStatusChangeEvent`` by class scope and name, wherever the event came from, and
returns its view; an event that has a system event's scope and name but not its attributes
raises :class:`~spanstream.schemas.NotASystemTraceError` saying what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Self

from spanstream.schemas._checkpoint_spans import (
    CHECKPOINT_SCOPE,
    NO_ACK_TS_MILLIS,
)
from spanstream.schemas._event import Event
from spanstream.schemas._job_spans import JOB_FAILURE_SCOPE
from spanstream.schemas._span import AttributeValue
from spanstream.schemas._system_events import (
    ALL_SUBTASKS_STATUS_CHANGE_EVENT,
    ALL_SUBTASKS_STATUS_SCOPE,
    CHECKPOINT_EVENT,
    EMPTY_LABEL,
    JOB_FAILURE_EVENT,
    JOB_STATUS_CHANGE_EVENT,
    JOB_STATUS_SCOPE,
    NULL_LABEL,
)
from spanstream.schemas._system_trace_views import (
    AttributesView,
    expect,
    flag,
    job_failure_fields,
    required,
)

__all__ = [
    "AllSubtasksStatusChangeEventView",
    "CheckpointEventView",
    "JobFailureEventView",
    "JobStatusChangeEventView",
    "read_system_event",
]


@dataclass(frozen=True, slots=True)
class _SystemEventView(AttributesView):
    event: Event
    """The event this view reads."""

    _SCOPE: ClassVar[str]
    _NAME: ClassVar[str]

    @property
    def _attributes(self) -> Mapping[str, AttributeValue]:
        return self.event.attributes

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Read an event of this view's kind (its class scope and name).

        Raises:
            NotASystemTraceError: ``event`` is not one: another scope or name, or an attribute
                it must have is missing or mistyped; the message says what was expected.
        """
        return cls._read(expect(event, Event, cls._SCOPE, cls._NAME))

    @classmethod
    def _read(cls, event: Event) -> Self:
        raise NotImplementedError

    @property
    def observed_ts_millis(self) -> int:
        """The event's observed time, epoch milliseconds."""
        return self.event.observed_ts_millis


@dataclass(frozen=True, slots=True)
class CheckpointEventView(_SystemEventView):
    """A Flink ``CheckpointEvent``, typed: the ``Checkpoint`` span's values without aggregates.

    Example:
        >>> from spanstream.schemas import checkpoint_event
        >>> event = checkpoint_event(
        ...     checkpoint_id=7, latest_ack_ts_millis=-1, full_size_bytes=0,
        ...     checkpointed_size_bytes=0, status="FAILED",
        ... ).build()
        >>> view = CheckpointEventView.from_event(event)
        >>> view.checkpoint_id, view.completed, view.acknowledged, view.metadata_size_bytes
        (7, False, False, -1)
    """

    checkpoint_id: int
    status: str
    """``COMPLETED`` or ``FAILED``."""
    full_size_bytes: int
    checkpointed_size_bytes: int
    metadata_size_bytes: int
    is_unaligned: bool
    checkpoint_type: str
    """``Checkpoint``, ``Full Checkpoint``, ``Savepoint``, ``Terminate Savepoint`` or
    ``Suspend Savepoint``."""

    @property
    def completed(self) -> bool:
        """Whether the status is ``COMPLETED``."""
        return self.status == "COMPLETED"

    @property
    def acknowledged(self) -> bool:
        """Whether any subtask acknowledged (Flink observes the event at -1 when none did)."""
        return self.event.observed_ts_millis != NO_ACK_TS_MILLIS

    _SCOPE: ClassVar[str] = CHECKPOINT_SCOPE
    _NAME: ClassVar[str] = CHECKPOINT_EVENT

    @classmethod
    def _read(cls, event: Event) -> Self:
        unaligned = flag(event, "isUnaligned")
        if unaligned is None:
            required(event, "isUnaligned", str)  # raises: required, and named in the message
        return cls(
            event,
            required(event, "checkpointId", int),
            required(event, "checkpointStatus", str),
            required(event, "fullSize", int),
            required(event, "checkpointedSize", int),
            required(event, "metadataSize", int),
            bool(unaligned),
            required(event, "checkpointType", str),
        )


@dataclass(frozen=True, slots=True)
class JobStatusChangeEventView(_SystemEventView):
    """A Flink ``JobStatusChangeEvent``, typed."""

    new_job_status: str
    """``newJobStatus``: a ``JobStatus`` name such as ``RUNNING`` or ``RESTARTING``."""

    @property
    def change_ts_millis(self) -> int:
        """When the status changed (the observed time)."""
        return self.event.observed_ts_millis

    _SCOPE: ClassVar[str] = JOB_STATUS_SCOPE
    _NAME: ClassVar[str] = JOB_STATUS_CHANGE_EVENT

    @classmethod
    def _read(cls, event: Event) -> Self:
        return cls(event, required(event, "newJobStatus", str))


def _label(text: AttributeValue) -> str | None:
    if text == NULL_LABEL:
        return None
    if text == EMPTY_LABEL:
        return ""
    return str(text)


@dataclass(frozen=True, slots=True)
class JobFailureEventView(_SystemEventView):
    """A Flink 2.2+ ``JobFailureEvent``, typed (1.20-2.1's span: :class:`JobFailureTrace`)."""

    can_restart: bool | None
    """``canRestart``, or ``None`` when Flink did not say."""
    is_global_failure: bool | None
    """``isGlobalFailure``, or ``None`` when Flink did not say (the adaptive scheduler)."""
    failure_labels: Mapping[str, str | None]
    """The ``failureLabel.<key>`` attributes by ``<key>``: ``"<null>"`` reads as ``None`` and
    ``"<empty>"`` as ``""``, undoing what Flink wrote for missing values."""

    @property
    def failure_ts_millis(self) -> int:
        """When the job failed (the observed time)."""
        return self.event.observed_ts_millis

    _SCOPE: ClassVar[str] = JOB_FAILURE_SCOPE
    _NAME: ClassVar[str] = JOB_FAILURE_EVENT

    @classmethod
    def _read(cls, event: Event) -> Self:
        return cls(event, *job_failure_fields(event, _label))


@dataclass(frozen=True, slots=True)
class AllSubtasksStatusChangeEventView(_SystemEventView):
    """A Flink ``AllSubtasksStatusChangeEvent``, typed."""

    status: str
    """``ALL_RUNNING_OR_FINISHED`` or ``NOT_ALL_RUNNING_OR_FINISHED``."""

    @property
    def all_running_or_finished(self) -> bool:
        """Whether every subtask is running or finished."""
        return self.status == "ALL_RUNNING_OR_FINISHED"

    _SCOPE: ClassVar[str] = ALL_SUBTASKS_STATUS_SCOPE
    _NAME: ClassVar[str] = ALL_SUBTASKS_STATUS_CHANGE_EVENT

    @classmethod
    def _read(cls, event: Event) -> Self:
        return cls(event, required(event, "status", str))


def read_system_event(
    event: Event,
) -> (
    CheckpointEventView
    | JobStatusChangeEventView
    | JobFailureEventView
    | AllSubtasksStatusChangeEventView
    | None
):
    """Return the typed view of a Flink system event, or ``None`` for any other event.

    Raises:
        NotASystemTraceError: the event has a system event's scope and name but not its
            attributes.
    """
    view = _VIEWS.get((event.scope, event.name))
    return None if view is None else view.from_event(event)


_View = (
    CheckpointEventView
    | JobStatusChangeEventView
    | JobFailureEventView
    | AllSubtasksStatusChangeEventView
)
_VIEWS: Final[Mapping[tuple[str, str], type[_View]]] = {
    (view._SCOPE, view._NAME): view
    for view in (
        CheckpointEventView,
        JobStatusChangeEventView,
        JobFailureEventView,
        AllSubtasksStatusChangeEventView,
    )
}
