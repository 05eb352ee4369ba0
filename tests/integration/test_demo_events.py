"""``spanstream demo`` with a Kafka event reporter: Flink 2.3's system events reach the topic."""

from __future__ import annotations

import json

from _helpers import demo_config, read_topic, run_cli, run_demo

from spanstream.schemas import EVENT_SCHEMA_FINGERPRINT, SINGLE_OBJECT_MARKER, decode_event
from spanstream.schemas.system import JobStatusChangeEventView, read_system_event

EVENT_HEADER = SINGLE_OBJECT_MARKER + EVENT_SCHEMA_FINGERPRINT


def test_demo_reports_the_jobmanagers_system_events_to_kafka(kafka_bootstrap, new_topic, tmp_path):
    """The failing job's events on the wire: RUNNING, RESTARTING, RUNNING, CANCELLING, CANCELED."""
    topic = new_topic()
    run_demo(kafka_bootstrap, demo_config(tmp_path, topic, events=True), duration_s=6, seed=3)
    events = [
        decode_event(message.value())
        for message in read_topic(kafka_bootstrap, topic)
        if (message.value() or b"").startswith(EVENT_HEADER)
    ]
    failing = [e for e in events if e.attributes.get("<job_name>") == "fraud-detection"]
    statuses = [
        view.new_job_status
        for e in sorted(failing, key=lambda e: e.observed_ts_millis)
        if isinstance(view := read_system_event(e), JobStatusChangeEventView)
    ]
    assert statuses == ["RUNNING", "RESTARTING", "RUNNING", "CANCELLING", "CANCELED"]
    assert [e.name for e in failing].count("JobFailureEvent") == 1
    assert {e.name for e in events} >= {"CheckpointEvent", "AllSubtasksStatusChangeEvent"}


def test_stats_takes_job_failures_and_status_changes_from_the_events(
    kafka_bootstrap, new_topic, tmp_path
):
    """stats --json on the demo's topic: the failure and the status history come from events."""
    topic = new_topic()
    run_demo(kafka_bootstrap, demo_config(tmp_path, topic, events=True), duration_s=6)
    done = run_cli("stats", topic, "--json", bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["events"] > 0
    jobs = {job["job"]: job for job in document["jobs"]}
    failing = jobs["fraud-detection"]
    assert failing["failures"]["count"] == 1
    assert failing["job_status"]["changes"] == [
        "RUNNING",
        "RESTARTING",
        "RUNNING",
        "CANCELLING",
        "CANCELED",
    ]
    assert failing["state"] == "canceled"
    assert jobs["sessionizer"]["failures"]["count"] == 0
