"""``spanstream tail`` run as a subprocess against the session's real broker."""

from __future__ import annotations

import json

import pytest
from _helpers import run_cli

from spanstream.producer import ReporterRegistry
from spanstream.schemas import Span
from spanstream.schemas.system import checkpoint_span


@pytest.fixture
def span_topic(kafka_bootstrap, new_topic):
    """A fresh topic holding 6 checkpoints (one FAILED) and 10 custom spans of job 'etl'."""
    topic = new_topic()
    registry = ReporterRegistry.from_config(
        {
            "traces.reporter.kafka.factory.class": "kafka",
            "traces.reporter.kafka.bootstrap.servers": kafka_bootstrap,
            "traces.reporter.kafka.topic": topic,
        }
    )
    group = registry.root_group(
        name="jobmanager", variables={"job_name": "etl", "job_id": "j1"}
    ).add_group("job")
    for i in range(6):
        group.add_span(
            checkpoint_span(
                checkpoint_id=i + 1,
                trigger_ts_millis=1_700_000_000_000 + i * 1000,
                latest_ack_ts_millis=1_700_000_000_300 + i * 1000,
                full_size_bytes=1000,
                checkpointed_size_bytes=100,
                status="FAILED" if i == 3 else "COMPLETED",
            )
        )
    for i in range(10):
        group.add_span(Span.builder("com.example.Loader", "Load").set_attribute("batch", i))
    reporter = registry.reporter("kafka")
    assert reporter.flush(30.0) == 0
    assert reporter.snapshot().delivered == 16
    registry.close()
    return topic


def test_tail_json_prints_every_span_once(kafka_bootstrap, span_topic):
    """--from-beginning --json --max 16: sixteen JSON lines, exit 0."""
    done = run_cli(
        "tail",
        span_topic,
        "--from-beginning",
        "--json",
        "--max",
        "16",
        "--timeout",
        "60s",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 0, done.stderr
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(documents) == 16
    assert len({d["span_id"] for d in documents}) == 16
    assert {d["topic"] for d in documents} == {span_topic}
    assert sum(d["name"] == "Checkpoint" for d in documents) == 6


def test_tail_filters_by_name_and_attribute(kafka_bootstrap, span_topic):
    """--name and --attr keep only the failed checkpoint, printed as one text line."""
    done = run_cli(
        "tail",
        span_topic,
        "--from-beginning",
        "--name",
        "Check*",
        "--attr",
        "checkpointStatus=FAILED",
        "--attr",
        "<job_name>=etl",
        "--max",
        "1",
        "--timeout",
        "60s",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    assert "etl  Checkpoint  300 ms" in lines[0]
    assert "checkpointId=4" in lines[0]


def test_tail_with_max_unmet_before_timeout_exits_1(kafka_bootstrap, span_topic):
    """Fewer spans than --max before --timeout: what was found is printed, then exit 1."""
    done = run_cli(
        "tail",
        span_topic,
        "--from-beginning",
        "--scope",
        "com.example.*",
        "--max",
        "11",
        "--timeout",
        "8s",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 10
    assert "printed 10 of --max 11" in done.stderr


def test_tail_since_skips_older_records(kafka_bootstrap, span_topic):
    """--since a time after every record: nothing is printed before the timeout."""
    done = run_cli(
        "tail", span_topic, "--since", "now", "--timeout", "5s", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_tail_unreachable_broker_exits_3():
    """No broker at the address: one line naming it and `spanstream broker start`; exit 3."""
    done = run_cli("tail", "flink-traces", bootstrap="127.0.0.1:1")
    assert done.returncode == 3
    assert "no Kafka broker answers at 127.0.0.1:1" in done.stderr
    assert "spanstream broker start" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
