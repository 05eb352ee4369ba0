"""Checkpoint health per job, from Flink's ``Checkpoint`` spans.

A span's job is its ``<job_id>`` scope variable (Flink 2.1+), or failing that its ``jobId``
attribute (Flink's job group puts it on every root span and event, in every version; 1.20 and
2.0 spans have only that): :func:`job_id_of`, the one rule every health summary uses.

Pure Python (the summary needs no extra); :func:`checkpoint_health_frame` and
:meth:`JobCheckpointHealth.sizes_frame` give pandas DataFrames with the ``analytics`` extra.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from spanstream.consumer._analytics import require_pandas
from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._records import SpanRecord
from spanstream.schemas import Event, NotASystemTraceError, Span, SpanValueError
from spanstream.schemas.system import (
    CHECKPOINT_SCOPE,
    CHECKPOINT_SPAN,
    ROOT_JOB_ID_ATTRIBUTE,
    CheckpointTrace,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "JOB_ID_ATTRIBUTE",
    "JOB_NAME_ATTRIBUTE",
    "CheckpointSizePoint",
    "JobCheckpointHealth",
    "checkpoint_health",
    "checkpoint_health_frame",
    "job_id_of",
    "percentile",
]

JOB_ID_ATTRIBUTE = "<job_id>"
"""The scope variable naming a span's job (Flink adds it to every job-level span)."""
JOB_NAME_ATTRIBUTE = "<job_name>"
"""The scope variable carrying the job's name."""


def job_id_of(item: Span | Event) -> str | None:
    """The job a span or event belongs to: ``<job_id>``, else ``jobId``, else ``None``.

    Example:
        >>> from spanstream.schemas import Span
        >>> job_id_of(Span.builder("s", "Checkpoint").set_attribute("jobId", "j-120").build())
        'j-120'
    """
    attributes = item.attributes
    for key in (JOB_ID_ATTRIBUTE, ROOT_JOB_ID_ATTRIBUTE):
        value = attributes.get(key)
        if value is not None:
            return str(value)
    return None


@dataclass(frozen=True, slots=True)
class CheckpointSizePoint:
    """One checkpoint's sizes at the time it ended: a point of the size-over-time series."""

    checkpoint_id: int
    end_ts_millis: int
    """The last acknowledgement; the trigger time for a checkpoint no subtask acknowledged
    (which Flink ends at -1)."""
    status: str
    full_size_bytes: int
    checkpointed_size_bytes: int
    duration_millis: int
    """Trigger to last acknowledgement; 0 when no subtask acknowledged."""


@dataclass(frozen=True, slots=True)
class JobCheckpointHealth:
    """How one job's checkpoints went.

    Attributes:
        job_id: the job (:func:`job_id_of`: ``<job_id>``, else ``jobId``; ``None`` for
            Checkpoint spans with neither).
        job_name: the last ``<job_name>`` seen for the job, if any.
        count: checkpoints (each span counted once, however often it was delivered).
        completed: of those, ``COMPLETED``.
        failed: the others (``FAILED``).
        failure_rate: ``failed / count``.
        duration_p50_millis, duration_p95_millis, duration_p99_millis: percentiles (linear
            interpolation, as numpy's default) of the durations (trigger to last
            acknowledgement) of *completed* checkpoints; ``None`` when none completed.
        duration_max_millis: the longest completed checkpoint; ``None`` when none completed.
        sizes: every checkpoint's full and checkpointed size, ordered by end time (the
            size-over-time series; failed checkpoints included, with their status).
    """

    job_id: str | None
    job_name: str | None
    count: int
    completed: int
    failed: int
    failure_rate: float
    duration_p50_millis: float | None
    duration_p95_millis: float | None
    duration_p99_millis: float | None
    duration_max_millis: int | None
    sizes: tuple[CheckpointSizePoint, ...]

    def sizes_frame(self) -> pd.DataFrame:
        """The size-over-time series as a DataFrame indexed by end time (``analytics`` extra)."""
        pandas = require_pandas("JobCheckpointHealth.sizes_frame")
        frame: pd.DataFrame = pandas.DataFrame(
            {
                "end_time": pandas.to_datetime(
                    [p.end_ts_millis for p in self.sizes], unit="ms", utc=True
                ),
                "checkpoint_id": [p.checkpoint_id for p in self.sizes],
                "status": [p.status for p in self.sizes],
                "full_size_bytes": [p.full_size_bytes for p in self.sizes],
                "checkpointed_size_bytes": [p.checkpointed_size_bytes for p in self.sizes],
                "duration_millis": [p.duration_millis for p in self.sizes],
            }
        ).set_index("end_time")
        return frame


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of ``values`` by linear interpolation (``None`` for no values).

    The one percentile rule of every health summary (this module's and the CLI's).

    >>> percentile([100, 200, 300, 400], 0.5)
    250.0

    Raises:
        SpanValueError: ``fraction`` is not a number from 0 to 1.
    """
    if not 0.0 <= fraction <= 1.0:  # also False for NaN
        raise SpanValueError(f"fraction must be a number from 0 to 1, not {fraction!r}")
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def _spans(items: Iterable[object]) -> Iterable[Span]:
    # Events (a CheckpointEvent repeats its span's values; a topic may carry events too) have
    # no checkpoints of their own: they are left out.
    for item in items:
        if isinstance(item, SpanRecord):
            yield item.span
        elif isinstance(item, Span):
            yield item


def checkpoint_health(
    items: Iterable[SpanRecord | EventRecord | Span | Event],
) -> Mapping[str | None, JobCheckpointHealth]:
    """Summarise the ``Checkpoint`` spans among ``items``, per job (:func:`job_id_of`).

    Other spans and every event are ignored (a ``CheckpointEvent`` repeats its span's values);
    so is a span that only looks like a Checkpoint but lacks its attributes. A span delivered
    twice (same span id) counts once.

    Example:
        >>> from spanstream.schemas import checkpoint_span
        >>> spans = [
        ...     checkpoint_span(checkpoint_id=i, trigger_ts_millis=0, latest_ack_ts_millis=10 * i,
        ...                     full_size_bytes=100, checkpointed_size_bytes=10,
        ...                     status="FAILED" if i == 4 else "COMPLETED",
        ...     ).build(extra_attributes={"<job_id>": "j"})
        ...     for i in range(1, 5)
        ... ]
        >>> h = checkpoint_health(spans)["j"]
        >>> h.count, h.failure_rate, h.duration_p50_millis, h.duration_max_millis
        (4, 0.25, 20.0, 30)
    """
    seen: set[bytes] = set()
    by_job: dict[str | None, list[CheckpointTrace]] = {}
    names: dict[str | None, str] = {}
    for span in _spans(items):
        if span.name != CHECKPOINT_SPAN or span.scope != CHECKPOINT_SCOPE:
            continue
        if span.span_id in seen:
            continue
        try:
            trace = CheckpointTrace.from_span(span)
        except NotASystemTraceError:
            continue
        seen.add(span.span_id)
        job_id = job_id_of(span)
        by_job.setdefault(job_id, []).append(trace)
        name = span.attributes.get(JOB_NAME_ATTRIBUTE)
        if name is not None:
            names[job_id] = str(name)
    return MappingProxyType(
        {job_id: _summarise(job_id, names.get(job_id), traces) for job_id, traces in by_job.items()}
    )


def _summarise(
    job_id: str | None, job_name: str | None, traces: list[CheckpointTrace]
) -> JobCheckpointHealth:
    traces.sort(key=lambda t: (t.settled_ts_millis, t.checkpoint_id))
    durations = sorted(t.duration_millis for t in traces if t.completed)
    completed = len(durations)
    count = len(traces)
    return JobCheckpointHealth(
        job_id=job_id,
        job_name=job_name,
        count=count,
        completed=completed,
        failed=count - completed,
        failure_rate=(count - completed) / count,
        duration_p50_millis=percentile(durations, 0.50),
        duration_p95_millis=percentile(durations, 0.95),
        duration_p99_millis=percentile(durations, 0.99),
        duration_max_millis=durations[-1] if durations else None,
        sizes=tuple(
            CheckpointSizePoint(
                checkpoint_id=t.checkpoint_id,
                end_ts_millis=t.settled_ts_millis,
                status=t.status,
                full_size_bytes=t.full_size_bytes,
                checkpointed_size_bytes=t.checkpointed_size_bytes,
                duration_millis=t.duration_millis if t.acknowledged else 0,
            )
            for t in traces
        ),
    )


def checkpoint_health_frame(
    items: Iterable[SpanRecord | EventRecord | Span | Event],
) -> pd.DataFrame:
    """:func:`checkpoint_health` as a DataFrame, one row per job (``analytics`` extra).

    Columns: ``job_id`` (the index), ``job_name``, ``count``, ``completed``, ``failed``,
    ``failure_rate``, ``duration_p50_millis``, ``duration_p95_millis``, ``duration_p99_millis``,
    ``duration_max_millis``, ``last_full_size_bytes``, ``last_checkpointed_size_bytes``.

    Raises:
        ExtraMissingError: pandas is not installed.
    """
    pandas = require_pandas("checkpoint_health_frame")
    rows = [
        {
            "job_id": h.job_id,
            "job_name": h.job_name,
            "count": h.count,
            "completed": h.completed,
            "failed": h.failed,
            "failure_rate": h.failure_rate,
            "duration_p50_millis": h.duration_p50_millis,
            "duration_p95_millis": h.duration_p95_millis,
            "duration_p99_millis": h.duration_p99_millis,
            "duration_max_millis": h.duration_max_millis,
            "last_full_size_bytes": h.sizes[-1].full_size_bytes,
            "last_checkpointed_size_bytes": h.sizes[-1].checkpointed_size_bytes,
        }
        for h in checkpoint_health(items).values()
    ]
    frame: pd.DataFrame = pandas.DataFrame(
        rows,
        columns=[
            "job_id",
            "job_name",
            "count",
            "completed",
            "failed",
            "failure_rate",
            "duration_p50_millis",
            "duration_p95_millis",
            "duration_p99_millis",
            "duration_max_millis",
            "last_full_size_bytes",
            "last_checkpointed_size_bytes",
        ],
    ).set_index("job_id")
    return frame
