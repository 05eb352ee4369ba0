"""Checkpoint health per job, gathered from spans as they are consumed (demo and ``stats``)."""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from spanstream.schemas import (
    CheckpointTrace,
    JobFailureTrace,
    JobInitializationTrace,
    NotASystemTraceError,
    Span,
    read_system_trace,
)

__all__ = ["CheckpointPoint", "HealthBoard", "JobHealth", "percentile"]

UNKNOWN_JOB: Final = "(no job)"
# The live view keeps recent checkpoints only; stats keeps them all.
_RECENT_CHECKPOINTS: Final = 200


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile by linear interpolation (``None`` for no values).

    >>> percentile([100, 200, 300, 400], 0.5)
    250.0
    """
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def job_of(span: Span) -> str:
    """The job a span belongs to: its ``<job_name>``, else its ``<job_id>`` scope variable."""
    attributes = span.attributes
    for key in ("<job_name>", "<job_id>"):
        value = attributes.get(key)
        if value is not None:
            return str(value)
    return UNKNOWN_JOB


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
    """What the consumed spans say about one job (mutable: filled as spans arrive)."""

    job: str
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

        ``restarting`` (failed, not initialized since), ``failing`` (last checkpoint failed),
        ``restored`` (initialized again since its last checkpoint), ``slow`` (last checkpoint
        over twice the median), ``healthy``, or ``waiting`` (no checkpoint yet).
        """
        if self.last_failure_ts_millis is not None and (
            self.last_initialization_ts_millis is None
            or self.last_initialization_ts_millis < self.last_failure_ts_millis
        ):
            return "restarting"
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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``spanstream stats --json`` prints per job)."""
        durations = self.durations_millis()
        completed = [c for c in self.checkpoints if c.completed]
        last = self.last_completed
        return {
            "job": self.job,
            "state": self.state,
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
        }


def _summary(values: Sequence[int]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p95": None, "max": None}
    return {
        "count": len(values),
        "mean": round(statistics.fmean(values), 1),
        "p50": percentile(values, 0.5),
        "p95": percentile(values, 0.95),
        "max": max(values),
    }


class HealthBoard:
    """Every job's :class:`JobHealth`, fed one consumed span at a time.

    Args:
        keep_checkpoints: how many recent checkpoints each job keeps (``None``: all).

    Example:
        >>> from spanstream.schemas import checkpoint_span
        >>> board = HealthBoard()
        >>> board.observe(checkpoint_span(
        ...     checkpoint_id=1, trigger_ts_millis=0, latest_ack_ts_millis=300,
        ...     full_size_bytes=10, checkpointed_size_bytes=5,
        ... ).build(extra_attributes={"<job_name>": "etl"}))
        >>> board.jobs()[0].job, board.jobs()[0].completed, board.jobs()[0].state
        ('etl', 1, 'healthy')
    """

    def __init__(self, *, keep_checkpoints: int | None = _RECENT_CHECKPOINTS) -> None:
        self._keep = keep_checkpoints
        self._jobs: dict[str, JobHealth] = {}
        self.spans = 0
        """Top-level spans observed."""
        self.unreadable = 0
        """Spans named like a Flink system trace without its attributes."""

    def job(self, name: str) -> JobHealth:
        """The job's health record (created empty on first use)."""
        health = self._jobs.get(name)
        if health is None:
            health = self._jobs[name] = JobHealth(name, checkpoints=deque(maxlen=self._keep))
        return health

    def jobs(self) -> list[JobHealth]:
        """Every job seen, by name."""
        return [self._jobs[name] for name in sorted(self._jobs)]

    def observe_all(self, spans: Iterable[Span]) -> None:
        """Observe several spans."""
        for span in spans:
            self.observe(span)

    def observe(self, span: Span) -> None:
        """Take one consumed top-level span into account."""
        self.spans += 1
        health = self.job(job_of(span))
        try:
            trace = read_system_trace(span)
        except NotASystemTraceError:
            self.unreadable += 1
            health.other_spans[span.name] += 1
            return
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
            health.failures += 1
            health.restartable_failures += trace.can_restart is True
            health.global_failures += trace.is_global_failure is True
            for key, value in trace.failure_labels.items():
                health.failure_labels[f"{key}={value}"] += 1
            health.last_failure_ts_millis = max(
                trace.failure_ts_millis, health.last_failure_ts_millis or 0
            )
        else:
            health.other_spans[span.name] += 1

    @staticmethod
    def _checkpoint(health: JobHealth, trace: CheckpointTrace) -> None:
        if trace.completed:
            health.completed += 1
        else:
            health.failed += 1
        point = CheckpointPoint(
            trace.checkpoint_id,
            trace.end_ts_millis,
            trace.duration_millis,
            trace.checkpointed_size_bytes,
            trace.full_size_bytes,
            trace.completed,
            len(trace.tasks),
        )
        points = health.checkpoints
        # Spans of one job arrive in order per partition; keep the list ordered by end time.
        if not points or points[-1].end_ts_millis <= point.end_ts_millis:
            points.append(point)
        else:
            ordered = sorted([*points, point], key=lambda c: c.end_ts_millis)
            points.clear()
            points.extend(ordered[-points.maxlen :] if points.maxlen else ordered)
