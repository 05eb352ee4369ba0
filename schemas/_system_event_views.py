"""Typed, read-only views of Flink 2.2+'s system events, as the span views read system spans.

:func:`read_system_event` is :func:`~spanstream.schemas.read_system_trace`'s counterpart: it
recognises ``CheckpointEvent``, ``JobStatusChangeEvent``, ``JobFailureEvent`` and
``AllSubtasksStatusChangeEvent`` by class scope and name, wherever the event came from, and
returns its view; an event that has a system event's scope and name but not its attributes
raises :class:`~spanstream.schemas.NotASystemTraceError` saying what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Self

from spanstream.schemas._checkpoint_spans import (
    CHECKPOINT_SCOPE,
    NO_ACK_TS_MILLIS,
    ROOT_JOB_ID_ATTRIBUTE,
)
from spanstream.schemas._errors import NotASystemTraceError
from spanstream.schemas._event import Event
from spanstream.schemas._job_spans import FAILURE_LABEL_PREFIX, JOB_FAILURE_SCOPE
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
from spanstream.schemas._system_trace_views import read_attribute, read_flag, scope_variables

__all__ = [
    "AllSubtasksStatusChangeEventView",
    "CheckpointEventView",
    "JobFailureEventView",
    "JobStatusChangeEventView",
    "read_system_event",
]


def _expect(event: object, scope: str, name: str) -> Event:
    if not isinstance(event, Event):
        raise NotASystemTraceError(
            f"expected a {name} event (scope {scope}), got a {type(event).__name__}"
        )
    if event.scope != scope or event.name != name:
        raise NotASystemTraceError(
            f"expected a {name} event (scope {scope}, name {name!r}), "
            f"got {event.scope}/{event.name!r}"
        )
    return event


def _int(event: Event, key: str) -> int:
    value = read_attribute(event.attributes, f"a {event.name} event", key, int)
    assert value is not None  # required=True raises instead
    return value


def _str(event: Event, key: str) -> str:
    value = read_attribute(event.attributes, f"a {event.name} event", key, str)
    assert value is not None  # required=True raises instead
    return value


@dataclass(frozen=True, slots=True)
class _SystemEventView:
    event: Event
    """The event this view reads."""

    @property
    def observed_ts_millis(self) -> int:
        """The event's observed time, epoch milliseconds."""
        return self.event.observed_ts_millis

    @property
    def scope_variables(self) -> Mapping[str, AttributeValue]:
        """The ``<...>`` attributes the reporting group added (``<job_id>``, ``<host>``, ...)."""
        return scope_variables(self.event.attributes)

    @property
    def job_id(self) -> str | None:
        """The event's ``jobId`` (Flink's job group puts it on every event), or ``None``."""
        value = self.event.attributes.get(ROOT_JOB_ID_ATTRIBUTE)
        return value if type(value) is str else None


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

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Read a ``CheckpointEvent``.

        Raises:
            NotASystemTraceError: ``event`` is not one, or lacks or mistypes an attribute.
        """
        event = _expect(event, CHECKPOINT_SCOPE, CHECKPOINT_EVENT)
        unaligned = read_flag(event.attributes, f"a {event.name} event", "isUnaligned")
        if unaligned is None:
            _str(event, "isUnaligned")  # raises: required, and named in the message
        return cls(
            event,
            _int(event, "checkpointId"),
            _str(event, "checkpointStatus"),
            _int(event, "fullSize"),
            _int(event, "checkpointedSize"),
            _int(event, "metadataSize"),
            bool(unaligned),
            _str(event, "checkpointType"),
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

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Read a ``JobStatusChangeEvent``.

        Raises:
            NotASystemTraceError: ``event`` is not one.
        """
        event = _expect(event, JOB_STATUS_SCOPE, JOB_STATUS_CHANGE_EVENT)
        return cls(event, _str(event, "newJobStatus"))


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

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Read a ``JobFailureEvent``.

        Raises:
            NotASystemTraceError: ``event`` is not one.
        """
        event = _expect(event, JOB_FAILURE_SCOPE, JOB_FAILURE_EVENT)
        what = f"a {event.name} event"
        labels = {
            key[len(FAILURE_LABEL_PREFIX) :]: _label(value)
            for key, value in event.attributes.items()
            if key.startswith(FAILURE_LABEL_PREFIX)
        }
        return cls(
            event,
            read_flag(event.attributes, what, "canRestart"),
            read_flag(event.attributes, what, "isGlobalFailure"),
            MappingProxyType(labels),
        )


@dataclass(frozen=True, slots=True)
class AllSubtasksStatusChangeEventView(_SystemEventView):
    """A Flink ``AllSubtasksStatusChangeEvent``, typed."""

    status: str
    """``ALL_RUNNING_OR_FINISHED`` or ``NOT_ALL_RUNNING_OR_FINISHED``."""

    @property
    def all_running_or_finished(self) -> bool:
        """Whether every subtask is running or finished."""
        return self.status == "ALL_RUNNING_OR_FINISHED"

    @classmethod
    def from_event(cls, event: Event) -> Self:
        """Read an ``AllSubtasksStatusChangeEvent``.

        Raises:
            NotASystemTraceError: ``event`` is not one.
        """
        event = _expect(event, ALL_SUBTASKS_STATUS_SCOPE, ALL_SUBTASKS_STATUS_CHANGE_EVENT)
        return cls(event, _str(event, "status"))


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
    key = (event.scope, event.name)
    if key == (CHECKPOINT_SCOPE, CHECKPOINT_EVENT):
        return CheckpointEventView.from_event(event)
    if key == (JOB_STATUS_SCOPE, JOB_STATUS_CHANGE_EVENT):
        return JobStatusChangeEventView.from_event(event)
    if key == (JOB_FAILURE_SCOPE, JOB_FAILURE_EVENT):
        return JobFailureEventView.from_event(event)
    if key == (ALL_SUBTASKS_STATUS_SCOPE, ALL_SUBTASKS_STATUS_CHANGE_EVENT):
        return AllSubtasksStatusChangeEventView.from_event(event)
    return None
