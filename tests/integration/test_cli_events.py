"""``spanstream tail`` and ``export`` on topics that carry events, against the real broker."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from _helpers import run_cli
from confluent_kafka import Producer

from spanstream.schemas import Event, Span, encode_event, encode_span
from spanstream.schemas.system import (
    all_subtasks_status_change_event,
    checkpoint_event,
    checkpoint_span,
    job_failure_event,
    job_status_change_event,
)

T0 = 1_700_000_000_000
TRACE_ID = bytes.fromhex("ab" * 16)
SPAN_ID = bytes.fromhex("cd" * 8)
JOB = {"<job_name>": "etl"}


def _events() -> list[Event]:
    return [
        checkpoint_event(
            checkpoint_id=7,
            latest_ack_ts_millis=T0 + 1000,
            full_size_bytes=1000,
            checkpointed_size_bytes=100,
            status="FAILED",
        ).build(variables=JOB),
        job_status_change_event(new_job_status="RESTARTING", change_ts_millis=T0 + 2000).build(
            variables=JOB
        ),
        job_failure_event(can_restart=True, failure_ts_millis=T0 + 3000).build(variables=JOB),
        all_subtasks_status_change_event(
            status="ALL_RUNNING_OR_FINISHED", observed_ts_millis=T0 + 4000
        ).build(variables=JOB),
        Event.builder("com.example.Loader", "Loaded")
        .set_observed_ts_millis(T0 + 5000)
        .set_severity("WARN")
        .set_body("line one\nline two\x1b[2J")
        .set_attribute("rows", 3)
        .build(trace_id=TRACE_ID, span_id=SPAN_ID),
    ]


def _spans() -> list[Span]:
    return [
        checkpoint_span(
            checkpoint_id=i + 1,
            trigger_ts_millis=T0 + i * 1000,
            latest_ack_ts_millis=T0 + i * 1000 + 300,
            full_size_bytes=1000,
            checkpointed_size_bytes=100,
        ).build(extra_attributes=JOB)
        for i in range(3)
    ]


def _fill(bootstrap: str, topic: str, *, spans: list[Span], events: list[Event]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in spans:
        producer.produce(topic, encode_span(span), key=b"span", partition=0)
    for event in events:
        producer.produce(topic, encode_event(event), key=b"event", partition=0)
    assert producer.flush(30) == 0


@pytest.fixture
def mixed_topic(kafka_bootstrap, new_topic):
    """A fresh topic holding 3 checkpoint spans and 5 events (Flink's four kinds and a custom)."""
    topic = new_topic(partitions=1)
    _fill(kafka_bootstrap, topic, spans=_spans(), events=_events())
    return topic


@pytest.fixture
def events_topic(kafka_bootstrap, new_topic):
    """A fresh topic of events only, as ``flink-events`` is."""
    topic = new_topic(partitions=1)
    _fill(kafka_bootstrap, topic, spans=[], events=_events())
    return topic


def _tail(bootstrap: str, topic: str, *args: str) -> list[str]:
    done = run_cli("tail", topic, "--from-beginning", "-e", *args, bootstrap=bootstrap)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_tail_prints_events_of_an_events_only_topic(kafka_bootstrap, events_topic):
    """An events-only topic: one line per event, observed time, job, name, severity, key attrs."""
    lines = _tail(kafka_bootstrap, events_topic)
    assert len(lines) == 5
    assert lines[0].startswith("2023-11-14T22:13:21.000Z  etl  CheckpointEvent  ")
    assert "checkpointId=7 checkpointStatus=FAILED" in lines[0]
    assert "JobStatusChangeEvent" in lines[1]
    assert "newJobStatus=RESTARTING" in lines[1]
    assert "canRestart=true" in lines[2]
    assert "status=ALL_RUNNING_OR_FINISHED" in lines[3]
    assert "  Loaded  WARN  rows=3" in lines[4]


def test_tail_json_marks_spans_and_events(kafka_bootstrap, mixed_topic):
    """--json on a mixed topic: spans as "kind": "span", events with every event field."""
    documents = [json.loads(line) for line in _tail(kafka_bootstrap, mixed_topic, "--json")]
    assert [d["kind"] for d in documents] == ["span"] * 3 + ["event"] * 5
    loaded = documents[-1]
    assert loaded["trace_id"] == TRACE_ID.hex()
    assert loaded["span_id"] == SPAN_ID.hex()
    assert loaded["severity"] == "WARN"
    assert loaded["body"] == "line one\nline two\x1b[2J"
    assert loaded["observed_ts_millis"] == T0 + 5000
    assert loaded["attributes"] == {"rows": 3}
    assert loaded["key"] == "event"
    assert (loaded["partition"], loaded["offset"]) == (0, 7)
    assert len(loaded["event_id"]) == 32
    assert documents[3]["trace_id"] is None


def test_tail_long_shows_every_event_attribute_escaped(kafka_bootstrap, mixed_topic):
    """--long: the event's body and attributes on one line, control characters escaped."""
    lines = _tail(kafka_bootstrap, mixed_topic, "--long", "--name", "Loaded")
    assert len(lines) == 1
    assert "body=line one\\nline two\\x1b[2J" in lines[0]
    assert "\x1b" not in lines[0]
    assert "rows=3" in lines[0]
    assert "[Loader]" in lines[0]


def test_tail_filters_apply_to_events(kafka_bootstrap, mixed_topic):
    """--attr, --scope and --trace-id select events as they select spans."""
    failed = _tail(kafka_bootstrap, mixed_topic, "--attr", "checkpointStatus=FAILED")
    assert len(failed) == 1
    assert "CheckpointEvent" in failed[0]
    traced = _tail(kafka_bootstrap, mixed_topic, "--trace-id", "abab")
    assert len(traced) == 1
    assert "Loaded" in traced[0]
    scoped = _tail(kafka_bootstrap, mixed_topic, "--scope", "Loader")
    assert len(scoped) == 1
    assert "Loaded" in scoped[0]


def test_tail_kind_selects_spans_or_events(kafka_bootstrap, mixed_topic):
    """--kind span prints the 3 spans, --kind event the 5 events."""
    spans = _tail(kafka_bootstrap, mixed_topic, "--kind", "span", "--json")
    events = _tail(kafka_bootstrap, mixed_topic, "--kind", "event", "--json")
    assert [json.loads(line)["kind"] for line in spans] == ["span"] * 3
    assert [json.loads(line)["kind"] for line in events] == ["event"] * 5


def test_tail_kind_span_does_not_count_events_as_bad(kafka_bootstrap, mixed_topic):
    """--kind span leaves the events out quietly: no 'skipped' note about bad records."""
    done = run_cli(
        "tail", mixed_topic, "--from-beginning", "-e", "--kind", "span", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 3
    assert "skipped" not in done.stderr


def test_tail_format_fills_event_fields(kafka_bootstrap, mixed_topic):
    """--format: {kind}, {severity} and attributes for events; '-' for a span's severity."""
    lines = _tail(kafka_bootstrap, mixed_topic, "--format", "{kind} {name} {severity} {rows}")
    assert lines[0] == "span Checkpoint - -"
    assert lines[-1] == "event Loaded WARN 3"


def test_tail_rejects_an_unknown_kind(kafka_bootstrap, mixed_topic):
    """--kind must be span, event or all: exit 2 with what is accepted."""
    done = run_cli("tail", mixed_topic, "--kind", "spans", "-e", bootstrap=kafka_bootstrap)
    assert done.returncode == 2
    assert "span, event, all" in done.stderr


def test_export_writes_events_beside_the_spans(kafka_bootstrap, mixed_topic, tmp_path):
    """Parquet: spans to --out, events to <stem>.events.parquet in the event layout."""
    out = tmp_path / "spans.parquet"
    done = run_cli("export", mixed_topic, "--out", str(out), bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).column("name").to_pylist() == ["Checkpoint"] * 3
    events = pq.read_table(tmp_path / "spans.events.parquet")
    assert events.column("name").to_pylist() == [
        "CheckpointEvent",
        "JobStatusChangeEvent",
        "JobFailureEvent",
        "AllSubtasksStatusChangeEvent",
        "Loaded",
    ]
    assert events.column("severity").to_pylist()[-1] == "WARN"
    assert "5 events to" in done.stdout


def test_export_csv_of_an_events_only_topic(kafka_bootstrap, events_topic, tmp_path):
    """--kind event: the events alone to --out as CSV, one attr.<key> column per key."""
    out = tmp_path / "events.csv"
    done = run_cli(
        "export", events_topic, "--out", str(out), "--kind", "event", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["name"] for row in rows][1] == "JobStatusChangeEvent"
    assert rows[1]["attr.newJobStatus"] == "RESTARTING"
    assert not (tmp_path / "events.events.csv").exists()


def test_export_of_spans_only_writes_no_events_file(kafka_bootstrap, new_topic, tmp_path):
    """A topic without events: no <stem>.events file, and the summary says so."""
    topic = new_topic(partitions=1)
    _fill(kafka_bootstrap, topic, spans=_spans(), events=[])
    out = tmp_path / "spans.parquet"
    done = run_cli("export", topic, "--out", str(out), bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).num_rows == 3
    assert not (tmp_path / "spans.events.parquet").exists()
    assert "no events" in done.stdout
