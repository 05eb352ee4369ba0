"""A simulated Flink deployment for the demo: jobs on task managers, reporting like Flink 2.3.

Each job's JobManager group reports what a real Flink 2.3 JobManager does, at the same moments
(``flink-2.3-traces-and-events.md`` §8, §9 and the observed run):

- at start: ``JobStatusChangeEvent`` RUNNING, ``JobInitialization``, and
  ``AllSubtasksStatusChangeEvent`` ALL_RUNNING_OR_FINISHED;
- every checkpoint interval: a ``Checkpoint`` span (per-task children; per-subtask
  grandchildren for one job) and its ``CheckpointEvent``;
- when a job fails: ``JobFailureEvent``, ``JobStatusChangeEvent`` RESTARTING,
  ``AllSubtasksStatusChangeEvent`` NOT_ALL_RUNNING_OR_FINISHED, and the checkpoint in progress
  fails unacknowledged (it ends at -1, its ``metadataSize`` is -1); on restart RUNNING again,
  ``JobInitialization`` restoring the latest completed checkpoint, ALL_RUNNING_OR_FINISHED;
- at the end of the run: CANCELLING and CANCELED.

With ``report_events_as_spans`` the deployment behaves as Flink 1.20-2.1 with
``traces.report-events-as-spans: true``: no system events (they do not exist before 2.2), and
the failure is a ``JobFailure`` span. Every subtask's TaskManager group reports custom
application spans. The groups are Flink's: ``jobmanager`` (``<host>``) > ``job`` (``<job_id>``,
``<job_name>``; it puts ``jobId`` on its root spans and events) and ``taskmanager`` > ``job`` >
``task``.

The seam: :meth:`FlinkSimulation.start`, :meth:`~FlinkSimulation.tick` and
:meth:`~FlinkSimulation.finish` return what is due as a :class:`SimulationTick` (span and event
builders, each with the group that reports it); :meth:`~FlinkSimulation.report` hands them to
``MetricGroup.add_span`` and ``MetricGroup.add_event``, which deliver them to the registry's
trace and event reporters.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from spanstream.producer import MetricGroup, ReporterRegistry
from spanstream.schemas import EventBuilder, SpanBuilder
from spanstream.schemas.system import (
    CheckpointSpanDetailLevel,
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    all_subtasks_status_change_event,
    checkpoint_event,
    checkpoint_span,
    job_failure_event,
    job_failure_span,
    job_initialization_span,
    job_status_change_event,
)

__all__ = [
    "DEMO_JOBS",
    "FlinkSimulation",
    "SimulatedJob",
    "SimulationCounts",
    "SimulationTick",
    "Vertex",
]

_TICK_S: Final = 0.05
_MIB: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Vertex:
    """A job vertex (task): its id, operator name, parallelism and state per subtask."""

    vertex_id: str
    name: str
    parallelism: int
    state_bytes_per_subtask: int


@dataclass(frozen=True, slots=True)
class SimulatedJob:
    """One Flink job of the simulated deployment.

    Attributes:
        name: ``<job_name>``.
        vertices: its tasks.
        checkpoint_interval_s: how often it checkpoints.
        base_checkpoint_ms: typical checkpoint duration.
        detail_level: Flink's ``traces.checkpoint.span-detail-level`` for its Checkpoint spans.
        app_scope: the class reporting its custom spans.
        app_spans: names of the custom spans its operators report.
        fails_at_fraction: when (fraction of the run) it fails and restarts, if ever.
        state_growth: how much its state grows per checkpoint (slows its checkpoints down).
    """

    name: str
    vertices: tuple[Vertex, ...]
    checkpoint_interval_s: float
    base_checkpoint_ms: int
    detail_level: CheckpointSpanDetailLevel
    app_scope: str
    app_spans: tuple[str, ...]
    fails_at_fraction: float | None = None
    state_growth: float = 0.0


DEMO_JOBS: Final = (
    SimulatedJob(
        "clickstream-etl",
        (
            Vertex("cbc357ccb763df2852fee8c4fc7d55f2", "Source: clicks", 3, 2 * _MIB),
            Vertex("9dd63673dd41ea021b896d5203f3ba7c", "Enrich", 3, 24 * _MIB),
            Vertex("1f2a3b4c5d6e7f8091a2b3c4d5e6f708", "Sink: lake", 2, 1 * _MIB),
        ),
        checkpoint_interval_s=1.0,
        base_checkpoint_ms=350,
        detail_level=CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_TASK,
        app_scope="com.example.clickstream.EnrichFunction",
        app_spans=("EnrichBatch", "ProfileLookup"),
    ),
    SimulatedJob(
        "fraud-detection",
        (
            Vertex("6d2677a0ecc3fd8df0b72ec675edf8f4", "Source: payments", 2, 1 * _MIB),
            Vertex("ea632d67b7d595e5b851708ae9ad79d6", "ScoreTransactions", 4, 64 * _MIB),
            Vertex("0a448493b4782967b150582570326227", "Sink: alerts", 1, _MIB // 2),
        ),
        checkpoint_interval_s=1.5,
        base_checkpoint_ms=600,
        detail_level=CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK,
        app_scope="com.example.fraud.ScoringModel",
        app_spans=("ScoreBatch", "ModelInference"),
        fails_at_fraction=0.45,
    ),
    SimulatedJob(
        "sessionizer",
        (
            Vertex("bc764cd8ddf7a0cff126f51c16239658", "Source: events", 2, 1 * _MIB),
            Vertex("20ba6b65f97481d5570070de90e4e791", "SessionWindow", 3, 96 * _MIB),
        ),
        checkpoint_interval_s=1.2,
        base_checkpoint_ms=450,
        detail_level=CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_TASK,
        app_scope="com.example.sessions.SessionWindowFunction",
        app_spans=("FireWindow",),
        state_growth=0.06,
    ),
)
"""The deployment ``spanstream demo`` runs: three jobs; one fails once, one slows down."""


@dataclass(slots=True)
class SimulationCounts:
    """What the simulation produced (each top-level span or event counts one)."""

    checkpoints: int = 0
    failed_checkpoints: int = 0
    initializations: int = 0
    failures: int = 0
    """Job failures (a ``JobFailureEvent``, or a ``JobFailure`` span as 1.20-2.1)."""
    failure_spans: int = 0
    """``JobFailure`` spans (only with ``report_events_as_spans``)."""
    app_spans: int = 0
    events: int = 0
    """System events built (``CheckpointEvent``, ``JobStatusChangeEvent``, ...)."""

    @property
    def total(self) -> int:
        """Every top-level span reported."""
        return self.checkpoints + self.initializations + self.failure_spans + self.app_spans


@dataclass(frozen=True, slots=True)
class SimulationTick:
    """What the deployment reports at one moment: builders, each with the group reporting it."""

    spans: tuple[tuple[MetricGroup, SpanBuilder], ...] = ()
    events: tuple[tuple[MetricGroup, EventBuilder], ...] = ()


@dataclass(slots=True)
class _Due:
    spans: list[tuple[MetricGroup, SpanBuilder]] = field(default_factory=list)
    events: list[tuple[MetricGroup, EventBuilder]] = field(default_factory=list)

    def freeze(self) -> SimulationTick:
        return SimulationTick(tuple(self.spans), tuple(self.events))


@dataclass(slots=True)
class _JobState:
    job: SimulatedJob
    job_id: str
    jobmanager: MetricGroup
    subtasks: list[tuple[Vertex, int, MetricGroup]]
    next_checkpoint_s: float
    checkpoint_id: int = 0
    last_completed: tuple[int, int] | None = None  # (checkpoint id, full size)
    growth: float = 1.0
    failed: bool = False
    restart_at_s: float | None = None
    app_budget: float = 0.0
    rng: random.Random = field(default_factory=random.Random)


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


class FlinkSimulation:
    """Runs :data:`DEMO_JOBS` (or given jobs) on ``task_managers`` task managers, in real time.

    Args:
        registry: where the groups report (the demo's Kafka reporter).
        duration_s: how long :meth:`run` lasts.
        task_managers: over how many task managers (hosts) the subtasks are spread.
        app_spans_per_s: custom application spans per second, over all jobs.
        seed: for a reproducible run.
        jobs: the jobs to run.
        report_events_as_spans: behave as Flink 1.20-2.1 with
            ``traces.report-events-as-spans: true`` (a ``JobFailure`` span, no system events)
            instead of Flink 2.3 (system events, no ``JobFailure`` span).
    """

    def __init__(
        self,
        registry: ReporterRegistry,
        *,
        duration_s: float,
        task_managers: int = 4,
        app_spans_per_s: float = 150.0,
        seed: int | None = None,
        jobs: tuple[SimulatedJob, ...] = DEMO_JOBS,
        report_events_as_spans: bool = False,
    ) -> None:
        self.duration_s = duration_s
        self.report_events_as_spans = report_events_as_spans
        self.counts = SimulationCounts()
        self._app_rate_per_job = app_spans_per_s / max(1, len(jobs))
        self._rng = random.Random(seed)
        self._jobs = [
            self._deploy(registry, job, index, task_managers) for index, job in enumerate(jobs)
        ]

    def _deploy(
        self, registry: ReporterRegistry, job: SimulatedJob, index: int, task_managers: int
    ) -> _JobState:
        job_id = f"{self._rng.getrandbits(128):032x}"
        # Flink's JobManagerJobMetricGroup: the job group brings <job_id> and <job_name>, and
        # (as Flink's JobMetricGroup) puts jobId on the root spans and events reported on it.
        job_variables = {"job_id": job_id, "job_name": job.name}
        jobmanager = registry.root_group(
            name="jobmanager", variables={"host": "jobmanager-0"}
        ).add_group("job", variables=job_variables)
        subtasks = []
        slot = index
        for vertex in job.vertices:
            for subtask in range(vertex.parallelism):
                tm = slot % task_managers
                slot += 1
                group = (
                    registry.root_group(
                        name="taskmanager",
                        variables={"host": f"taskmanager-{tm}", "tm_id": f"taskmanager-{tm}:6122"},
                    )
                    .add_group("job", variables=job_variables)
                    .add_group(
                        "task",
                        variables={
                            "task_name": vertex.name,
                            "task_id": vertex.vertex_id,
                            "subtask_index": subtask,
                        },
                    )
                )
                subtasks.append((vertex, subtask, group))
        return _JobState(
            job,
            job_id,
            jobmanager,
            subtasks,
            next_checkpoint_s=job.checkpoint_interval_s * (0.5 + 0.2 * index),
            rng=random.Random(self._rng.getrandbits(64)),
        )

    def run(self, stop: threading.Event, *, on_tick: Callable[[], None] | None = None) -> None:
        """Report spans in real time for ``duration_s`` (or until ``stop`` is set)."""
        started = time.monotonic()
        self.report(self.start())
        last = started
        while not stop.is_set():
            now = time.monotonic()
            elapsed = now - started
            if elapsed >= self.duration_s:
                break
            self.report(self.tick(elapsed, now - last))
            last = now
            if on_tick is not None:
                on_tick()
            stop.wait(_TICK_S)
        self.report(self.finish())

    def report(self, due: SimulationTick) -> None:
        """Hand what is due to the metric groups: spans to ``add_span``, events to ``add_event``."""
        for group, span in due.spans:
            group.add_span(span)
        for group, event in due.events:
            group.add_event(event)

    # -- what is due ----------------------------------------------------------------------------

    def start(self) -> SimulationTick:
        """Every job starts: RUNNING, ``JobInitialization``, all subtasks running."""
        due = _Due()
        for state in self._jobs:
            self._status(due, state, "RUNNING")
            self._initialize(due, state, restore=False)
            self._all_subtasks(due, state, running=True)
        return due.freeze()

    def tick(self, elapsed_s: float, dt_s: float) -> SimulationTick:
        """What every job reports ``elapsed_s`` into the run, ``dt_s`` after the last tick."""
        due = _Due()
        for state in self._jobs:
            self._step(due, state, elapsed_s, dt_s)
        return due.freeze()

    def finish(self) -> SimulationTick:
        """The run ends: every job is cancelled (CANCELLING, then CANCELED)."""
        due = _Due()
        for state in self._jobs:
            self._status(due, state, "CANCELLING")
            self._status(due, state, "CANCELED")
        return due.freeze()

    # -- one job --------------------------------------------------------------------------------

    def _event(self, due: _Due, state: _JobState, event: EventBuilder) -> None:
        if not self.report_events_as_spans:  # Flink 1.20-2.1 have no system events
            due.events.append((state.jobmanager, event))
            self.counts.events += 1

    def _status(self, due: _Due, state: _JobState, status: str) -> None:
        self._event(
            due,
            state,
            job_status_change_event(new_job_status=status, change_ts_millis=_now_millis()),
        )

    def _all_subtasks(self, due: _Due, state: _JobState, *, running: bool) -> None:
        status = "ALL_RUNNING_OR_FINISHED" if running else "NOT_ALL_RUNNING_OR_FINISHED"
        self._event(
            due,
            state,
            all_subtasks_status_change_event(status=status, observed_ts_millis=_now_millis()),
        )

    def _step(self, due: _Due, state: _JobState, elapsed_s: float, dt_s: float) -> None:
        job = state.job
        if state.failed:
            if state.restart_at_s is not None and elapsed_s >= state.restart_at_s:
                self._status(due, state, "RUNNING")
                self._initialize(due, state, restore=True)
                self._all_subtasks(due, state, running=True)
                state.failed = False
                state.next_checkpoint_s = elapsed_s + job.checkpoint_interval_s
            return
        if (
            job.fails_at_fraction is not None
            and state.restart_at_s is None
            and elapsed_s >= job.fails_at_fraction * self.duration_s
        ):
            self._fail(due, state, elapsed_s)
            return
        if elapsed_s >= state.next_checkpoint_s:
            self._checkpoint(due, state)
            jitter = state.rng.uniform(0.85, 1.15)
            state.next_checkpoint_s = elapsed_s + job.checkpoint_interval_s * jitter
        self._app_spans(due, state, dt_s)

    def _initialize(self, due: _Due, state: _JobState, *, restore: bool) -> None:
        rng = state.rng
        end = _now_millis()
        restored = state.last_completed if restore else None
        tasks = sum(v.parallelism for v in state.job.vertices)
        durations: dict[str, tuple[int, int]] = {}
        for metric, typical in (
            ("MailboxStartDurationMs", 40),
            ("ReadOutputDataDurationMs", 15),
            ("InitializeStateDurationMs", 700 if restored else 30),
            ("GateRestoreDurationMs", 20),
        ):
            values = [max(1, int(rng.gauss(typical, typical / 4))) for _ in range(tasks)]
            durations[metric] = (max(values), sum(values))
        start = end - max(maximum for maximum, _ in durations.values()) - rng.randint(50, 200)
        if restored is not None:
            sizes = [restored[1] // tasks] * tasks
            durations["RestoredStateSizeBytes.REMOTE"] = (max(sizes), sum(sizes))
        span = job_initialization_span(
            start_ts_millis=start,
            end_ts_millis=end,
            checkpoint_id=None if restored is None else restored[0],
            full_size_bytes=None if restored is None else restored[1],
            durations=durations,
        )
        due.spans.append((state.jobmanager, span))
        self.counts.initializations += 1

    def _fail(self, due: _Due, state: _JobState, elapsed_s: float) -> None:
        now = _now_millis()
        labels = {"type": "USER", "exception": "java.lang.ArithmeticException"}
        if self.report_events_as_spans:
            failure = job_failure_span(
                failure_ts_millis=now,
                can_restart=True,
                is_global_failure=False,
                failure_labels=labels,
            )
            due.spans.append((state.jobmanager, failure))
            self.counts.failure_spans += 1
        else:
            self._event(
                due,
                state,
                job_failure_event(
                    can_restart=True,
                    is_global_failure=False,
                    failure_ts_millis=now,
                    failure_labels=labels,
                ),
            )
        self.counts.failures += 1
        self._status(due, state, "RESTARTING")
        self._all_subtasks(due, state, running=False)
        # The checkpoint in progress when the task failed is aborted before any subtask
        # acknowledged it: Flink ends it at -1.
        state.checkpoint_id += 1
        self._report_checkpoint(due, state, trigger=now - 400, completed=False, acknowledged=False)
        state.failed = True
        state.restart_at_s = elapsed_s + 1.5

    def _checkpoint(self, due: _Due, state: _JobState) -> None:
        state.checkpoint_id += 1
        completed = state.rng.random() > 0.04
        duration = state.job.base_checkpoint_ms * state.growth * state.rng.uniform(0.7, 1.3)
        if state.rng.random() < 0.08:  # backpressure now and then: a slow checkpoint
            duration *= state.rng.uniform(2.5, 4.0)
        self._report_checkpoint(
            due, state, trigger=_now_millis() - int(duration), completed=completed
        )
        state.growth *= 1 + state.job.state_growth

    def _report_checkpoint(
        self,
        due: _Due,
        state: _JobState,
        *,
        trigger: int,
        completed: bool,
        acknowledged: bool = True,
    ) -> None:
        rng = state.rng
        end_limit = _now_millis()
        tasks = []
        for vertex in state.job.vertices:
            subtasks = []
            for index in range(vertex.parallelism if acknowledged else 0):
                start_delay = rng.randint(1, 40)
                alignment = rng.randint(0, 30)
                sync = rng.randint(1, 15)
                budget = max(10, end_limit - trigger - start_delay - alignment - sync)
                asynchronous = int(budget * rng.uniform(0.5, 1.0))
                state_bytes = int(
                    vertex.state_bytes_per_subtask * state.growth * rng.uniform(0.9, 1.1)
                )
                subtasks.append(
                    CheckpointSubtaskStats(
                        subtask_id=index,
                        ack_ts_millis=min(
                            end_limit, trigger + start_delay + alignment + sync + asynchronous
                        ),
                        metrics={
                            "StateSizeBytes": state_bytes,
                            "CheckpointedSizeBytes": int(state_bytes * rng.uniform(0.05, 0.3)),
                            "CheckpointStartDelayMs": start_delay,
                            "AlignmentDurationMs": alignment,
                            "SyncCheckpointDurationMs": sync,
                            "AsyncCheckpointDurationMs": asynchronous,
                            "ProcessedDataBytes": rng.randint(100_000, 5_000_000),
                            "PersistedDataBytes": 0,
                        },
                    )
                )
            tasks.append(CheckpointTaskStats(vertex.vertex_id, tuple(subtasks)))
        full = sum(t.sum("StateSizeBytes") for t in tasks)
        checkpointed = sum(t.sum("CheckpointedSizeBytes") for t in tasks)
        latest_ack = max(t.latest_ack_ts_millis for t in tasks)  # -1 when none acknowledged
        # A failed checkpoint wrote no metadata file: Flink reports -1 (observed in a real run).
        metadata = rng.randint(1_500, 3_000) * len(tasks) if completed else -1
        status = "COMPLETED" if completed else "FAILED"
        span = checkpoint_span(
            checkpoint_id=state.checkpoint_id,
            trigger_ts_millis=trigger,
            latest_ack_ts_millis=latest_ack,
            full_size_bytes=full,
            checkpointed_size_bytes=checkpointed,
            metadata_size_bytes=metadata,
            status=status,
            tasks=tasks,
            detail_level=state.job.detail_level,
        )
        due.spans.append((state.jobmanager, span))
        event = checkpoint_event(
            checkpoint_id=state.checkpoint_id,
            latest_ack_ts_millis=latest_ack,
            full_size_bytes=full,
            checkpointed_size_bytes=checkpointed,
            metadata_size_bytes=metadata,
            status=status,
        )
        self._event(due, state, event)
        self.counts.checkpoints += 1
        if completed:
            state.last_completed = (state.checkpoint_id, full)
        else:
            self.counts.failed_checkpoints += 1

    def _app_spans(self, due: _Due, state: _JobState, dt_s: float) -> None:
        rng = state.rng
        state.app_budget += self._app_rate_per_job * dt_s
        count = int(state.app_budget)
        state.app_budget -= count
        now = _now_millis()
        for _ in range(count):
            _, _, group = state.subtasks[rng.randrange(len(state.subtasks))]
            name = state.job.app_spans[rng.randrange(len(state.job.app_spans))]
            duration = max(1, int(rng.expovariate(1 / 25)))
            builder = (
                SpanBuilder(state.job.app_scope, name)
                .set_start_ts_millis(now - duration)
                .set_end_ts_millis(now)
                .set_attribute("records", rng.randint(1, 5000))
                .set_attribute("cacheHit", rng.random() < 0.8)
                .set_attribute("watermarkLagMs", rng.randint(0, 2000))
            )
            if rng.random() < 0.1:
                builder.add_child(
                    SpanBuilder(state.job.app_scope, "RemoteCall")
                    .set_start_ts_millis(now - duration)
                    .set_end_ts_millis(now - duration // 2)
                    .set_attribute("endpoint", "profiles-service")
                )
            due.spans.append((group, builder))
            self.counts.app_spans += 1
