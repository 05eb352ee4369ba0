"""``spanstream stats`` and ``spanstream export`` run as subprocesses against the real broker."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from _helpers import run_cli

from spanstream.producer import ReporterRegistry
from spanstream.schemas import Span
from spanstream.schemas.system import checkpoint_span, job_failure_span, job_initialization_span

T0 = 1_700_000_000_000


@pytest.fixture
def flink_topic(kafka_bootstrap, new_topic):
    """A fresh topic with two jobs' traces: 5 + 3 checkpoints (one FAILED), an init each, one
    failure and a restore, and 4 custom spans with a child each."""
    topic = new_topic()
    registry = ReporterRegistry.from_config(
        {
            "traces.reporter.kafka.factory.class": "kafka",
            "traces.reporter.kafka.bootstrap.servers": kafka_bootstrap,
            "traces.reporter.kafka.topic": topic,
        }
    )
    groups = {
        job: registry.root_group(name="jobmanager", variables={"job_name": job}).add_group("job")
        for job in ("etl", "fraud")
    }
    for job, group in groups.items():
        group.add_span(job_initialization_span(start_ts_millis=T0, end_ts_millis=T0 + 150))
        for i in range(5 if job == "etl" else 3):
            group.add_span(
                checkpoint_span(
                    checkpoint_id=i + 1,
                    trigger_ts_millis=T0 + 1000 * (i + 1),
                    latest_ack_ts_millis=T0 + 1000 * (i + 1) + 100 * (i + 1),
                    full_size_bytes=1_048_576 * (i + 1),
                    checkpointed_size_bytes=524_288,
                    status="FAILED" if (job, i) == ("fraud", 2) else "COMPLETED",
                )
            )
    groups["fraud"].add_span(
        job_failure_span(
            failure_ts_millis=T0 + 9000, can_restart=True, failure_labels={"t": "USER"}
        )
    )
    groups["fraud"].add_span(
        job_initialization_span(
            start_ts_millis=T0 + 9500, end_ts_millis=T0 + 10_000, checkpoint_id=2
        )
    )
    for i in range(4):
        groups["etl"].add_span(
            Span.builder("com.example.Loader", "Load")
            .set_attribute("rows", i)
            .add_child(Span.builder("com.example.Loader", "Fetch"))
        )
    reporter = registry.reporter("kafka")
    assert reporter.flush(30.0) == 0
    assert reporter.snapshot().delivered == 16
    registry.close()
    return topic


def test_stats_json_summarises_each_job(kafka_bootstrap, flink_topic):
    """--json: checkpoints, initializations, failures and other spans per job."""
    done = run_cli("stats", flink_topic, "--json", bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["spans"] == 16
    jobs = {job["job"]: job for job in document["jobs"]}
    etl, fraud = jobs["etl"], jobs["fraud"]
    assert etl["checkpoints"]["completed"] == 5
    assert etl["checkpoints"]["duration_millis"]["max"] == 500
    assert etl["checkpoints"]["duration_millis"]["p50"] == 300
    assert etl["other_spans"] == {"Load": 4}
    assert (fraud["checkpoints"]["completed"], fraud["checkpoints"]["failed"]) == (2, 1)
    assert fraud["failures"]["count"] == 1
    assert fraud["failures"]["labels"] == {"t=USER": 1}
    assert fraud["initializations"]["restored_from_checkpoints"] == [2]


def test_stats_tables_and_plot(kafka_bootstrap, flink_topic, tmp_path):
    """Tables for checkpoints, initializations and failures; --plot writes a PNG."""
    plot = tmp_path / "checkpoints.png"
    done = run_cli("stats", flink_topic, "--plot", str(plot), bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    for title in ("checkpoints", "initializations", "failures", "other spans"):
        assert title in done.stdout
    assert "16 spans" in done.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plotted 8 checkpoints" in done.stderr


def test_stats_of_a_missing_topic_exits_1(kafka_bootstrap):
    """A topic that does not exist: one line naming it, exit 1."""
    done = run_cli("stats", "no-such-topic-here", bootstrap=kafka_bootstrap)
    assert done.returncode == 1
    assert "topic 'no-such-topic-here' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_stats_until_before_every_record_finds_nothing(kafka_bootstrap, flink_topic):
    """--until before the records were written: zero spans."""
    done = run_cli(
        "stats",
        flink_topic,
        "--until",
        "2001-01-01T00:00:00Z",
        "--json",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["spans"] == 0


def test_export_parquet_has_a_row_per_span(kafka_bootstrap, flink_topic, tmp_path):
    """Parquet: 16 records become 20 rows (4 nested spans), with a progress bar on stderr."""
    out = tmp_path / "spans.parquet"
    done = run_cli("export", flink_topic, "--out", str(out), bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.num_rows == 20
    assert sorted(set(table.column("name").to_pylist())) == [
        "Checkpoint",
        "Fetch",
        "JobFailure",
        "JobInitialization",
        "Load",
    ]
    assert "wrote 20 rows" in done.stdout
    assert "16/16" in done.stderr


def test_export_csv_has_attribute_columns(kafka_bootstrap, flink_topic, tmp_path):
    """CSV: one column per attribute key."""
    out = tmp_path / "spans.csv"
    done = run_cli(
        "export", flink_topic, "--out", str(out), "--since", "1h", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20
    assert {"attr.checkpointId", "attr.<job_name>", "attr.rows"} <= set(rows[0])


def test_export_rejects_other_suffixes(kafka_bootstrap, tmp_path):
    """--out must end in .parquet or .csv: exit 2."""
    done = run_cli("export", "t", "--out", str(tmp_path / "x.json"), bootstrap=kafka_bootstrap)
    assert done.returncode == 2
    assert "should end in .parquet or .csv" in done.stderr
