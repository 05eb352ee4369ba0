"""Health per job, gathered from Flink's system spans and events as they are consumed.

The demo and ``spanstream stats`` feed a :class:`HealthBoard` one :class:`~spanstream.schemas.Span`
or :class:`~spanstream.schemas.Event` at a time. Checkpoints come from ``Checkpoint`` spans or
``CheckpointEvent``s (each checkpoint id counted once, whichever comes first); job failures
from the ``JobFailureEvent`` (Flink 2.2+) or the ``JobFailure`` span (1.20-2.1); status
changes from ``JobStatusChangeEvent`` and ``AllSubtasksStatusChangeEvent``. Items are grouped
by job with the consumer's rule (:func:`~spanstream.consumer.job_id_of`: ``<job_id>``, else
``jobId``), falling back to ``<job_name>``, and shown under the job's name when known.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from spanstream.consumer import job_id_of, percentile
from spanstream.schemas import Event, NotASystemTraceError, Span
from spanstream.schemas.system import (
    AllSubtasksStatusChangeEventView,
    CheckpointEventView,
    CheckpointTrace,
    JobFailureEventView,
    JobFailureTrace,
    JobInitializationTrace,
    JobStatusChangeEventView,
    read_system_event,
    read_system_trace,
)

__all__ = ["CheckpointPoint", "HealthBoard", "JobHealth", "job_of", "percentile"]

UNKNOWN_JOB: Final = "(no job)"
# The live view keeps recent checkpoints only; stats keeps them all.
_RECENT_CHECKPOINTS: Final = 200
_Item = TypeVar("_Item", Span, Event)
_View = TypeVar("_View")
_JOB_NAME: Final = "<job_name>"
# Job statuses in which the job is not running its tasks (Flink's JobStatus names).
_RESTARTING_STATUSES: Final = frozenset({"RESTARTING", "FAILING"})
_TERMINAL_STATUSES: Final = frozenset({"FAILED", "CANCELED", "CANCELLING", "FINISHED", "SUSPENDED"})


def job_of(item: Span | Event) -> str:
    """The job a span or event belongs to, as the board keys it.

    The consumer's rule (``<job_id>``, else ``jobId``), else its ``<job_name>``, else
    ``(no job)``.
    """
    job_id = job_id_of(item)
    if job_id is not None:
        return job_id
    name = item.attributes.get(_JOB_NAME)
    return UNKNOWN_JOB if name is None else str(name)


@dataclass(frozen=True, slots=True)
class CheckpointPoint:
    """One checkpoint of a job, for tables and plots."""

    checkpoint_id: int
    end_ts_millis: int
    duration_millis: int
    checkpointed_size_bytes: int
    full_size_bytes: int
    completed: bool
    tasks: int


@dataclass(slots=True)
class JobHealth:
    """What the consumed spans and events say about one job (mutable: filled as they arrive)."""

    job: str
    """The job's ``<job_name>`` when seen, else its id."""
    job_id: str | None = None
    """The job's id (``<job_id>`` or ``jobId``), if any item carried one."""
    checkpoints: deque[CheckpointPoint] = field(default_factory=deque)
    completed: int = 0
    failed: int = 0
    initializations: int = 0
    initialization_durations_millis: list[int] = field(default_factory=list)
    initialization_statuses: Counter[str] = field(default_factory=Counter)
    restored_from: list[int] = field(default_factory=list)
    last_initialization_ts_millis: int | None = None
    failures: int = 0
    restartable_failures: int = 0
    global_failures: int = 0
    failure_labels: Counter[str] = field(default_factory=Counter)
    last_failure_ts_millis: int | None = None
    other_spans: Counter[str] = field(default_factory=Counter)
    job_status: str | None = None
    """The latest ``newJobStatus`` of a ``JobStatusChangeEvent``."""
    job_status_ts_millis: int | None = None
    status_changes: list[str] = field(default_factory=list)
    """Every ``newJobStatus`` in the order observed (RUNNING, RESTARTING, RUNNING, ...)."""
    all_subtasks_running: bool | None = None
    """The latest ``AllSubtasksStatusChangeEvent``: all running or finished, or not."""
    other_events: Counter[str] = field(default_factory=Counter)
    checkpoints_seen: dict[int, bool] = field(default_factory=dict)
    """Checkpoint id -> whether its ``Checkpoint`` span came (else only its event): each
    checkpoint counts once, and its span replaces an event that came first."""

    @property
    def last(self) -> CheckpointPoint | None:
        """The latest checkpoint (by end time) seen so far."""
        return self.checkpoints[-1] if self.checkpoints else None

    @property
    def last_completed(self) -> CheckpointPoint | None:
        """The latest completed checkpoint."""
        return next((c for c in reversed(self.checkpoints) if c.completed), None)

    def durations_millis(self) -> list[int]:
        """Durations of the completed checkpoints kept."""
        return [c.duration_millis for c in self.checkpoints if c.completed]

    @property
    def state(self) -> str:
        """The job's state in one word.

        ``restarting`` (a RESTARTING/FAILING status, or failed and not initialized since
        without a status event saying otherwise), ``failed``/``canceled``/``cancelling``/
        ``finished``/``suspended`` (the job's terminal status), ``failing`` (last checkpoint
        failed), ``restored`` (initialized again since its last checkpoint), ``slow`` (last
        checkpoint over twice the median), ``healthy``, or ``waiting`` (no checkpoint yet).
        """
        by_status = self._status_state()
        if by_status is not None:
            return by_status
        last = self.last
        if last is None:
            return "waiting"
        initialized = self.last_initialization_ts_millis
        if initialized is not None and initialized > last.end_ts_millis and self.failures:
            return "restored"
        if not last.completed:
            return "failing"
        median = statistics.median(self.durations_millis())
        if len(self.durations_millis()) >= 3 and last.duration_millis > 2 * median:
            return "slow"
        return "healthy"

    def _status_state(self) -> str | None:
        # The latest status event decides, unless a failure came after it; without one, a
        # failure not followed by an initialization means the job is restarting.
        failed_at = self.last_failure_ts_millis
        status_at = self.job_status_ts_millis
        if self.job_status is not None and (
            failed_at is None or (status_at is not None and status_at >= failed_at)
        ):
            if self.job_status in _RESTARTING_STATUSES:
                return "restarting"
            if self.job_status in _TERMINAL_STATUSES:
                return self.job_status.lower()
            return None
        initialized_at = self.last_initialization_ts_millis
        if failed_at is not None and (initialized_at is None or initialized_at < failed_at):
            return "restarting"
        return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``spanstream stats --json`` prints per job)."""
        durations = self.durations_millis()
        completed = [c for c in self.checkpoints if c.completed]
        last = self.last_completed
        return {
            "job": self.job,
            "job_id": self.job_id,
            "state": self.state,
            "job_status": {
                "current": self.job_status,
                "changes": list(self.status_changes),
                "all_subtasks_running": self.all_subtasks_running,
            },
            "checkpoints": {
                "completed": self.completed,
                "failed": self.failed,
                "duration_millis": _summary(durations),
                "checkpointed_size_bytes": _summary([c.checkpointed_size_bytes for c in completed]),
                "last_checkpoint_id": None if last is None else last.checkpoint_id,
                "last_full_size_bytes": None if last is None else last.full_size_bytes,
            },
            "initializations": {
                "count": self.initializations,
                "statuses": dict(self.initialization_statuses),
                "duration_millis": _summary(self.initialization_durations_millis),
                "restored_from_checkpoints": list(self.restored_from),
            },
            "failures": {
                "count": self.failures,
                "restartable": self.restartable_failures,
                "global": self.global_failures,
                "labels": dict(self.failure_labels),
            },
            "other_spans": dict(self.other_spans),
            "other_events": dict(self.other_events),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _summary(values: Sequence[int]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None}
    return {
        "count": len(values),
        # Interpolated quantiles carry binary noise (616.1999999999985): a tenth is plenty.
        "mean": round(statistics.fmean(values), 1),
        "p50": _rounded(percentile(values, 0.5)),
        "p95": _rounded(percentile(values, 0.95)),
        "max": max(values),
    }


class HealthBoard:
    """Every job's :class:`JobHealth`, fed one consumed span or event at a time.

    Args:
        keep_checkpoints: how many recent checkpoints each job keeps (``None``: all).

    Example:
        >>> from spanstream.schemas import checkpoint_span, job_status_change_event
        >>> board = HealthBoard()
        >>> board.observe(checkpoint_span(
        ...     checkpoint_id=1, trigger_ts_millis=0, latest_ack_ts_millis=300,
        ...     full_size_bytes=10, checkpointed_size_bytes=5,
        ... ).build(extra_attributes={"<job_name>": "etl"}))
        >>> board.jobs()[0].job, board.jobs()[0].completed, board.jobs()[0].state
        ('etl', 1, 'healthy')
        >>> board.observe(job_status_change_event(new_job_status="CANCELED").build(
        ...     variables={"<job_name>": "etl"}))
        >>> board.jobs()[0].state
        'canceled'
    """

    def __init__(self, *, keep_checkpoints: int | None = _RECENT_CHECKPOINTS) -> None:
        self._keep = keep_checkpoints
        self._jobs: dict[str, JobHealth] = {}
        self.spans = 0
        """Top-level spans observed."""
        self.events = 0
        """Events observed."""
        self.unreadable = 0
        """Spans or events named like a Flink system trace or event without its attributes."""

    def job(self, name: str) -> JobHealth:
        """The job's health record by key or shown name (created empty on first use)."""
        health = self._jobs.get(name)
        if health is None:
            health = next((h for h in self._jobs.values() if h.job == name), None)
        if health is None:
            health = self._jobs[name] = JobHealth(name, checkpoints=deque(maxlen=self._keep))
        return health

    def jobs(self) -> list[JobHealth]:
        """Every job seen, by shown name."""
        return sorted(self._jobs.values(), key=lambda h: (h.job, h.job_id or ""))

    def observe_all(self, items: Iterable[Span | Event]) -> None:
        """Observe several spans or events."""
        for item in items:
            self.observe(item)

    def _job_of(self, item: Span | Event) -> JobHealth:
        key = job_of(item)
        health = self._jobs.get(key)
        if health is None:
            health = self._jobs[key] = JobHealth(key, checkpoints=deque(maxlen=self._keep))
        job_id = job_id_of(item)
        if job_id is not None:
            health.job_id = job_id
        name = item.attributes.get(_JOB_NAME)
        if name is not None:
            health.job = str(name)
        return health

    def observe(self, item: Span | Event) -> None:
        """Take one consumed top-level span, or one event, into account."""
        if isinstance(item, Event):
            self._observe_event(item)
            return
        span = item
        self.spans += 1
        health = self._job_of(span)
        trace = self._view(read_system_trace, span, health.other_spans)
        if isinstance(trace, CheckpointTrace):
            self._checkpoint(health, trace)
        elif isinstance(trace, JobInitializationTrace):
            health.initializations += 1
            health.initialization_durations_millis.append(trace.duration_millis)
            health.initialization_statuses[trace.status] += 1
            if trace.checkpoint_id is not None:
                health.restored_from.append(trace.checkpoint_id)
            health.last_initialization_ts_millis = max(
                trace.end_ts_millis, health.last_initialization_ts_millis or 0
            )
        elif isinstance(trace, JobFailureTrace):
            self._failure(health, trace)

    def _observe_event(self, event: Event) -> None:
        self.events += 1
        health = self._job_of(event)
        view = self._view(read_system_event, event, health.other_events)
        if isinstance(view, CheckpointEventView):
            self._checkpoint(health, view)
        elif isinstance(view, JobFailureEventView):
            self._failure(health, view)
        elif isinstance(view, JobStatusChangeEventView):
            health.status_changes.append(view.new_job_status)
            if health.job_status_ts_millis is None or (
                view.change_ts_millis >= health.job_status_ts_millis
            ):
                health.job_status = view.new_job_status
                health.job_status_ts_millis = view.change_ts_millis
        elif isinstance(view, AllSubtasksStatusChangeEventView):
            health.all_subtasks_running = view.all_running_or_finished

    def _view(
        self, read: Callable[[_Item], _View | None], item: _Item, others: Counter[str]
    ) -> _View | None:
        """Flink's typed view of a span or event; None for any other, counted in ``others``.

        One with a system span's or event's scope and name that does not read as one counts
        as unreadable too.
        """
        try:
            view = read(item)
        except NotASystemTraceError:
            self.unreadable += 1
            view = None
        if view is None:
            others[item.name] += 1
        return view

    @staticmethod
    def _failure(health: JobHealth, failure: JobFailureTrace | JobFailureEventView) -> None:
        health.failures += 1
        health.restartable_failures += failure.can_restart is True
        health.global_failures += failure.is_global_failure is True
        for key, value in failure.failure_labels.items():
            health.failure_labels[f"{key}={value}"] += 1
        health.last_failure_ts_millis = max(
            failure.failure_ts_millis, health.last_failure_ts_millis or 0
        )

    @staticmethod
    def _checkpoint(health: JobHealth, trace: CheckpointTrace | CheckpointEventView) -> None:
        is_span = isinstance(trace, CheckpointTrace)
        had_span = health.checkpoints_seen.get(trace.checkpoint_id)
        if had_span or (had_span is not None and not is_span):
            return  # counted already; a CheckpointEvent adds nothing to its span
        health.checkpoints_seen[trace.checkpoint_id] = is_span
        if had_span is None:
            if trace.completed:
                health.completed += 1
            else:
                health.failed += 1
        else:  # the span of a checkpoint whose event came first: its point is replaced
            kept = [c for c in health.checkpoints if c.checkpoint_id != trace.checkpoint_id]
            health.checkpoints.clear()
            health.checkpoints.extend(kept)
        if isinstance(trace, CheckpointTrace):  # (is_span, spelled out for mypy)
            # An unacknowledged checkpoint ends at -1: place it at its trigger, duration 0.
            settled = trace.settled_ts_millis
            duration = trace.duration_millis if trace.acknowledged else 0
            tasks = len(trace.tasks)
        else:
            # The event carries no trigger time: an unacknowledged one is placed at the end.
            last = health.checkpoints[-1].end_ts_millis if health.checkpoints else 0
            settled = trace.observed_ts_millis if trace.acknowledged else last
            duration, tasks = 0, 0
        point = CheckpointPoint(
            trace.checkpoint_id,
            settled,
            duration,
            trace.checkpointed_size_bytes,
            trace.full_size_bytes,
            trace.completed,
            tasks,
        )
        points = health.checkpoints
        # Items of one job arrive in order per partition; keep the list ordered by end time.
        if not points or points[-1].end_ts_millis <= point.end_ts_millis:
            points.append(point)
        else:
            ordered = sorted([*points, point], key=lambda c: c.end_ts_millis)
            points.clear()
            points.extend(ordered[-points.maxlen :] if points.maxlen else ordered)
