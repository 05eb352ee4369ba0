"""Health summaries by job from spans of every Flink shape and from Flink 2.2+'s system events."""

from __future__ import annotations

from spanstream.cli._health import HealthBoard, job_of
from spanstream.consumer import checkpoint_health, job_id_of
from spanstream.schemas import Event, Span
from spanstream.schemas.system import (
    all_subtasks_status_change_event,
    checkpoint_event,
    checkpoint_span,
    job_failure_event,
    job_failure_span,
    job_initialization_span,
    job_status_change_event,
)

T0 = 1_700_000_000_000
JOB = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
VARIABLES = {"<job_id>": JOB, "<job_name>": "etl", "<host>": "jobmanager-0"}


def _checkpoint_120(checkpoint_id: int, job_id: str, duration: int = 100) -> Span:
    """A Flink 1.20/2.0-shaped Checkpoint span: jobId, no scope variables."""
    return checkpoint_span(
        checkpoint_id=checkpoint_id,
        trigger_ts_millis=T0 + 1000 * checkpoint_id,
        latest_ack_ts_millis=T0 + 1000 * checkpoint_id + duration,
        full_size_bytes=100,
        checkpointed_size_bytes=10,
        job_id=job_id,
    ).build()


def _checkpoint_23(checkpoint_id: int, *, status: str = "COMPLETED") -> Span:
    return checkpoint_span(
        checkpoint_id=checkpoint_id,
        trigger_ts_millis=T0 + 1000 * checkpoint_id,
        latest_ack_ts_millis=T0 + 1000 * checkpoint_id + 100,
        full_size_bytes=100,
        checkpointed_size_bytes=10,
        metadata_size_bytes=5,
        status=status,
        job_id=JOB,
    ).build(extra_attributes=VARIABLES)


def test_job_id_is_the_job_id_variable_else_the_job_id_attribute():
    """<job_id> wins over jobId; jobId alone names the job; neither gives None."""
    both = (
        Span.builder("s", "n").set_attribute("jobId", "x").build(extra_attributes={"<job_id>": "y"})
    )
    only_root = Span.builder("s", "n").set_attribute("jobId", "x").build()
    assert (job_id_of(both), job_id_of(only_root), job_id_of(Span.builder("s", "n").build())) == (
        "y",
        "x",
        None,
    )


def test_checkpoint_health_groups_1_20_spans_by_their_job_id_attribute():
    """Spans with only jobId (1.20/2.0) group per job, not all under None."""
    spans = [_checkpoint_120(1, "job-a"), _checkpoint_120(2, "job-a"), _checkpoint_120(1, "job-b")]
    health = checkpoint_health(spans)
    assert {job: h.count for job, h in health.items()} == {"job-a": 2, "job-b": 1}


def test_checkpoint_health_places_an_unacknowledged_checkpoint_at_its_trigger():
    """A failed checkpoint ending at -1 sorts at its trigger time with duration 0."""
    unacked = checkpoint_span(
        checkpoint_id=3,
        trigger_ts_millis=T0 + 3000,
        full_size_bytes=0,
        checkpointed_size_bytes=0,
        status="FAILED",
        job_id="job-a",
    ).build()
    sizes = checkpoint_health([_checkpoint_120(4, "job-a"), unacked, _checkpoint_120(2, "job-a")])[
        "job-a"
    ].sizes
    assert [(p.checkpoint_id, p.end_ts_millis, p.duration_millis) for p in sizes] == [
        (2, T0 + 2100, 100),
        (3, T0 + 3000, 0),
        (4, T0 + 4100, 100),
    ]


def test_the_cli_board_keys_jobs_by_the_consumers_rule():
    """The board's job key is the consumer's job id; 1.20 spans of two jobs stay apart."""
    board = HealthBoard()
    board.observe_all([_checkpoint_120(1, "job-a"), _checkpoint_120(1, "job-b")])
    assert [(h.job, h.job_id, h.completed) for h in board.jobs()] == [
        ("job-a", "job-a", 1),
        ("job-b", "job-b", 1),
    ]
    assert job_of(_checkpoint_23(1)) == JOB


def test_a_job_is_shown_by_name_and_its_1_20_spans_join_it_by_id():
    """A span with <job_name> names the job; a jobId-only span of the same job joins it."""
    board = HealthBoard()
    board.observe(_checkpoint_23(1))
    board.observe(_checkpoint_120(2, JOB))
    (health,) = board.jobs()
    assert (health.job, health.job_id, health.completed) == ("etl", JOB, 2)


def test_a_job_failure_event_counts_as_the_job_failure_span_does():
    """JobFailureEvent (2.2+) and the JobFailure span (1.20-2.1) give the same failure counts."""
    from_event, from_span = HealthBoard(), HealthBoard()
    from_event.observe(
        job_failure_event(
            can_restart=True,
            is_global_failure=False,
            failure_ts_millis=T0,
            failure_labels={"type": "USER", "missing": None},
        ).build(variables=VARIABLES)
    )
    from_span.observe(
        job_failure_span(
            failure_ts_millis=T0,
            can_restart=True,
            is_global_failure=False,
            failure_labels={"type": "USER"},
        ).build(extra_attributes=VARIABLES)
    )
    event_health, span_health = from_event.job("etl"), from_span.job("etl")
    for health in (event_health, span_health):
        assert (health.failures, health.restartable_failures, health.global_failures) == (1, 1, 0)
        assert health.last_failure_ts_millis == T0
        assert health.state == "restarting"
    assert dict(event_health.failure_labels) == {"type=USER": 1, "missing=None": 1}


def test_status_change_events_drive_the_jobs_state():
    """RUNNING, failure, RESTARTING, RUNNING, CANCELED: restarting, then healthy, then canceled."""
    board = HealthBoard()

    def status(new: str, at: int) -> None:
        board.observe(
            job_status_change_event(new_job_status=new, change_ts_millis=at).build(
                variables=VARIABLES
            )
        )

    status("RUNNING", T0)
    board.observe(_checkpoint_23(1))
    board.observe(
        job_failure_event(can_restart=True, failure_ts_millis=T0 + 2000).build(variables=VARIABLES)
    )
    status("RESTARTING", T0 + 2000)
    assert board.job("etl").state == "restarting"
    status("RUNNING", T0 + 2500)
    board.observe(_checkpoint_23(3))
    assert board.job("etl").state == "healthy"
    status("CANCELED", T0 + 9000)
    health = board.job("etl")
    assert health.state == "canceled"
    assert health.status_changes == ["RUNNING", "RESTARTING", "RUNNING", "CANCELED"]
    assert health.to_dict()["job_status"]["current"] == "CANCELED"


def test_a_checkpoint_span_and_its_checkpoint_event_count_once():
    """Flink reports both for each checkpoint; the board counts the checkpoint once."""
    board = HealthBoard()
    board.observe(_checkpoint_23(1))
    board.observe(
        checkpoint_event(
            checkpoint_id=1,
            latest_ack_ts_millis=T0 + 1100,
            full_size_bytes=100,
            checkpointed_size_bytes=10,
            job_id=JOB,
        ).build(variables=VARIABLES)
    )
    board.observe(
        checkpoint_event(
            checkpoint_id=2,
            latest_ack_ts_millis=-1,
            full_size_bytes=0,
            checkpointed_size_bytes=0,
            status="FAILED",
            job_id=JOB,
        ).build(variables=VARIABLES)
    )
    health = board.job("etl")
    assert (health.completed, health.failed, board.spans, board.events) == (1, 1, 1, 2)
    assert [c.checkpoint_id for c in health.checkpoints] == [1, 2]


def test_all_subtasks_status_and_other_events_are_recorded():
    """AllSubtasksStatusChangeEvent sets all_subtasks_running; other events are counted."""
    board = HealthBoard()
    board.observe(
        all_subtasks_status_change_event(status="ALL_RUNNING_OR_FINISHED").build(
            variables=VARIABLES
        )
    )
    board.observe(Event.builder("my.app.Job", "Rescaled").build(variables=VARIABLES))
    health = board.job("etl")
    assert health.all_subtasks_running is True
    assert dict(health.other_events) == {"Rescaled": 1}


def test_restored_after_a_restart_reported_by_events():
    """After RESTARTING and RUNNING, a JobInitialization since the last checkpoint is restored."""
    board = HealthBoard()
    board.observe(_checkpoint_23(1))
    board.observe(
        job_failure_event(can_restart=True, failure_ts_millis=T0 + 2000).build(variables=VARIABLES)
    )
    board.observe(
        job_status_change_event(new_job_status="RESTARTING", change_ts_millis=T0 + 2000).build(
            variables=VARIABLES
        )
    )
    board.observe(
        job_status_change_event(new_job_status="RUNNING", change_ts_millis=T0 + 2500).build(
            variables=VARIABLES
        )
    )
    board.observe(
        job_initialization_span(
            start_ts_millis=T0 + 2500, end_ts_millis=T0 + 3000, checkpoint_id=1, job_id=JOB
        ).build(extra_attributes=VARIABLES)
    )
    assert board.job("etl").state == "restored"


def test_stats_shows_a_job_status_table_only_for_jobs_with_status_events():
    """spanstream stats' job status table has a row per job that reported a status change."""
    from spanstream.cli._stats import status_table

    board = HealthBoard()
    board.observe(_checkpoint_120(1, "job-a"))
    board.observe(job_status_change_event(new_job_status="RUNNING").build(variables=VARIABLES))
    assert status_table(board.jobs()).row_count == 1


def test_checkpoint_health_skips_events_among_the_spans():
    """A CheckpointEvent beside its span does not count twice, nor break the summary."""
    event = checkpoint_event(
        checkpoint_id=1,
        latest_ack_ts_millis=T0 + 1100,
        full_size_bytes=100,
        checkpointed_size_bytes=10,
        job_id="job-a",
    ).build()
    assert checkpoint_health([_checkpoint_120(1, "job-a"), event])["job-a"].count == 1


def test_a_checkpoint_span_after_its_event_replaces_the_events_point():
    """Event and span travel apart: the span's duration and tasks win when it comes second."""
    board = HealthBoard()
    board.observe(
        checkpoint_event(
            checkpoint_id=1,
            latest_ack_ts_millis=T0 + 1100,
            full_size_bytes=100,
            checkpointed_size_bytes=10,
            job_id=JOB,
        ).build(variables=VARIABLES)
    )
    assert [c.duration_millis for c in board.job("etl").checkpoints] == [0]
    board.observe(_checkpoint_23(1))
    health = board.job("etl")
    assert [(c.checkpoint_id, c.duration_millis) for c in health.checkpoints] == [(1, 100)]
    assert (health.completed, health.failed) == (1, 0)


def test_a_system_span_or_event_that_does_not_read_is_unreadable_and_other():
    """A Checkpoint span or event lacking its attributes counts as unreadable and as other."""
    checkpoint = _checkpoint_23(1)
    event = checkpoint_event(
        checkpoint_id=1, latest_ack_ts_millis=T0, full_size_bytes=1, checkpointed_size_bytes=1
    ).build(variables=VARIABLES)
    board = HealthBoard()
    bare = Span.builder(checkpoint.scope, checkpoint.name)
    for key, value in VARIABLES.items():
        bare.set_attribute(key, value)
    board.observe(bare.build())
    board.observe(Event.builder(event.scope, event.name).build(variables=VARIABLES))
    health = board.job("etl")
    assert board.unreadable == 2
    assert dict(health.other_spans) == {checkpoint.name: 1}
    assert dict(health.other_events) == {event.name: 1}
    assert (health.completed, health.failed) == (0, 0)
