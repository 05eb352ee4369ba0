"""The demo's parts without a broker: its configuration, the simulated jobs, the health board."""

from __future__ import annotations

import threading

import pytest
from typer.testing import CliRunner

from spanstream.cli import app
from spanstream.cli._demo import default_config_path, health_table, prepare_config
from spanstream.cli._exit import UsageError
from spanstream.cli._health import HealthBoard, percentile
from spanstream.cli._simulation import DEMO_JOBS, FlinkSimulation
from spanstream.producer import InMemoryTraceReporter, ReporterRegistry, ReporterSetup, load_config
from spanstream.schemas.system import (
    CheckpointTrace,
    checkpoint_span,
    job_failure_span,
    job_initialization_span,
)


def test_packaged_config_configures_the_kafka_reporter_without_servers():
    """demo.yaml ships with the package: a Kafka reporter on flink-traces, servers left out."""
    flat = load_config(default_config_path())
    assert flat["traces.reporter.kafka.factory.class"] == "kafka"
    assert flat["traces.reporter.kafka.topic"] == "flink-traces"
    assert "traces.reporter.kafka.bootstrap.servers" not in flat


def test_prepare_config_tags_the_run_and_keeps_the_file_variables():
    """The run id joins the reporter's additional variables; topic and servers are read."""
    flat, name, topic, servers = prepare_config(default_config_path(), run_id="abc123")
    assert (name, topic, servers) == ("kafka", "flink-traces", None)
    variables = flat["traces.reporter.kafka.scope.variables.additional"]
    assert variables == "cluster:demo,region:local,demo_run:abc123"


def test_prepare_config_reads_servers_and_mapping_variables(tmp_path):
    """A file may name its broker and give additional variables as a YAML mapping."""
    path = tmp_path / "traces.yaml"
    path.write_text(
        "traces:\n  reporter:\n    k:\n      factory.class: kafka\n"
        "      bootstrap.servers: h:9092\n      topic: t1\n"
        "      scope.variables.additional: {env: prod}\n"
    )
    flat, name, topic, servers = prepare_config(path, run_id="r1")
    assert (name, topic, servers) == ("k", "t1", "h:9092")
    assert flat["traces.reporter.k.scope.variables.additional"] == {"env": "prod", "demo_run": "r1"}


def test_prepare_config_without_kafka_reporter_is_a_usage_error(tmp_path):
    """A configuration with no Kafka reporter gets one line saying what to add."""
    path = tmp_path / "traces.yaml"
    path.write_text("traces.reporter.log.factory.class: logging\n")
    with pytest.raises(UsageError, match=r"factory\.class: kafka"):
        prepare_config(path, run_id="r1")


def test_demo_with_missing_config_file_exits_2():
    """--config naming a missing file: one line, exit code 2."""
    result = CliRunner().invoke(app, ["demo", "--config", "/nonexistent/traces.yaml"])
    assert result.exit_code == 2
    assert "cannot read /nonexistent/traces.yaml" in result.output


def _simulate(duration_s: float) -> InMemoryTraceReporter:
    memory = InMemoryTraceReporter()
    registry = ReporterRegistry([ReporterSetup("mem", memory)])
    simulation = FlinkSimulation(registry, duration_s=duration_s, seed=7, app_spans_per_s=100)
    simulation.run(threading.Event())
    assert simulation.counts.total == len(memory.spans)
    return memory


def test_simulation_reports_flink_system_traces_and_custom_spans():
    """Every job initializes and checkpoints (with task children); one fails and restores."""
    spans = _simulate(4.0).spans
    names = {span.name for span in spans}
    assert {"JobInitialization", "Checkpoint"} <= names
    assert "JobFailure" not in names  # Flink 2.3 reports a JobFailureEvent instead
    assert names & {"EnrichBatch", "ProfileLookup", "ScoreBatch", "FireWindow"}
    checkpoints = [CheckpointTrace.from_span(s) for s in spans if s.name == "Checkpoint"]
    assert {c.span.attributes["<job_name>"] for c in checkpoints} == {j.name for j in DEMO_JOBS}
    completed = [c for c in checkpoints if c.completed]
    assert all(c.tasks for c in completed)
    assert any(task.subtasks for c in completed for task in c.tasks)
    restores = [
        s for s in spans if s.name == "JobInitialization" and "checkpointId" in s.attributes
    ]
    assert [s.attributes["<job_name>"] for s in restores] == ["fraud-detection"]


def test_simulation_spans_carry_flink_scope_variables():
    """JobManager spans carry <host>, <job_id>, <job_name>; task spans also <subtask_index>."""
    spans = _simulate(1.5).spans
    checkpoint = next(s for s in spans if s.name == "Checkpoint")
    assert {"<host>", "<job_id>", "<job_name>"} <= set(checkpoint.attributes)
    custom = next(s for s in spans if s.scope.startswith("com.example."))
    assert {"<tm_id>", "<task_name>", "<subtask_index>"} <= set(custom.attributes)


def _checkpoint(checkpoint_id, duration, *, status="COMPLETED", job="etl"):
    return checkpoint_span(
        checkpoint_id=checkpoint_id,
        trigger_ts_millis=checkpoint_id * 1000,
        latest_ack_ts_millis=checkpoint_id * 1000 + duration,
        full_size_bytes=100,
        checkpointed_size_bytes=10,
        status=status,
    ).build(extra_attributes={"<job_name>": job})


def test_health_board_states():
    """healthy, slow (over twice the median), failing, restarting, restored, healthy again."""
    board = HealthBoard()
    for i in range(1, 4):
        board.observe(_checkpoint(i, 100))
    assert board.job("etl").state == "healthy"
    board.observe(_checkpoint(4, 500))
    assert board.job("etl").state == "slow"
    board.observe(_checkpoint(5, 100, status="FAILED"))
    assert board.job("etl").state == "failing"
    board.observe(
        job_failure_span(failure_ts_millis=6000, can_restart=True).build(
            extra_attributes={"<job_name>": "etl"}
        )
    )
    assert board.job("etl").state == "restarting"
    board.observe(
        job_initialization_span(start_ts_millis=6500, end_ts_millis=7000, checkpoint_id=4).build(
            extra_attributes={"<job_name>": "etl"}
        )
    )
    assert board.job("etl").state == "restored"
    board.observe(_checkpoint(8, 100))
    health = board.job("etl")
    assert health.state == "healthy"
    assert (health.completed, health.failed, health.failures) == (5, 1, 1)
    assert health.restored_from == [4]


def test_health_board_keeps_checkpoints_in_end_time_order():
    """A checkpoint consumed late (another partition) still lands in time order."""
    board = HealthBoard()
    board.observe(_checkpoint(2, 100))
    board.observe(_checkpoint(1, 100))
    assert [c.checkpoint_id for c in board.job("etl").checkpoints] == [1, 2]


def test_health_table_has_a_row_per_job():
    """The live table lists every job."""
    board = HealthBoard()
    board.observe(_checkpoint(1, 100, job="a"))
    board.observe(_checkpoint(1, 100, job="b"))
    assert health_table(board.jobs(), title="t").row_count == 2


def test_percentile_interpolates():
    """p50 of an even count is the mean of the middle two; empty is None."""
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([], 0.5) is None


def test_demo_with_malformed_yaml_exits_2_with_one_line(tmp_path):
    """A config file that is not YAML: exit 2, one 'error:' line naming the file."""
    path = tmp_path / "traces.yaml"
    path.write_text("a: [\n")
    result = CliRunner().invoke(app, ["demo", "--config", str(path)], env={"COLUMNS": "500"})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]
