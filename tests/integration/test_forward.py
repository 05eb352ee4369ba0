"""``spanstream forward`` and ``forward_spans``: span topics to a real OpenTelemetry Collector."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from _helpers import SPANSTREAM, demo_config, read_topic, run_cli, run_demo
from confluent_kafka import Consumer, Producer, TopicPartition

from spanstream.consumer import ForwardError, ForwardStats, forward_spans
from spanstream.otel import OtlpSettings
from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    Event,
    Span,
    decode_event,
    decode_span,
    encode_event,
    encode_span,
)


def _topic_records(bootstrap: str, topic: str) -> tuple[list[Span], list[Event]]:
    spans, events = [], []
    for message in read_topic(bootstrap, topic):
        if message.value().startswith(SINGLE_OBJECT_MARKER + EVENT_SCHEMA_FINGERPRINT):
            events.append(decode_event(message.value()))
        else:
            spans.append(decode_span(message.value()))
    return spans, events


def _produce(bootstrap: str, topic: str, spans: list[Span]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in spans:
        producer.produce(topic, encode_span(span), key=span.trace_id)
    assert producer.flush(60) == 0


def _committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """The sum of the group's committed offsets on ``topic`` (0 where none is committed)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        offsets = consumer.committed(
            [TopicPartition(topic, p) for p in range(partitions)], timeout=30
        )
        return sum(max(tp.offset, 0) for tp in offsets)
    finally:
        consumer.close()


def _spans(count: int, tag: str) -> list[Span]:
    result = []
    for index in range(count):
        root = Span.builder("app.Pipeline", "Batch").set_attribute("index", index)
        root.set_attribute("tag", tag)
        root.add_child(Span.builder("app.Pipeline", "Write").set_attribute("index", index))
        result.append(root.build(extra_attributes={"<host>": "worker-1", "<job_id>": "j-1"}))
    return result


def test_the_demo_topic_arrives_complete_with_checkpoint_trees_intact(
    kafka_bootstrap, new_topic, tmp_path, otlp_backend
):
    """Every span of a demo run arrives once, with its ids, parents and resource; its events too."""
    topic = new_topic()
    run_demo(kafka_bootstrap, demo_config(tmp_path, topic, events=True), duration_s=4, seed=5)
    roots, events = _topic_records(kafka_bootstrap, topic)
    assert events, "the demo reports Flink's system events beside its spans"
    expected = {}
    for root in roots:
        for span, parent, _depth in root.walk():
            expected[span.span_id.hex()] = (span, parent, root)

    forwarded = run_cli(
        "forward",
        topic,
        "--otlp-endpoint",
        otlp_backend.grpc_endpoint,
        "--group",
        f"forward-{uuid.uuid4().hex[:8]}",
        "--idle-exit",
        "3s",
        bootstrap=kafka_bootstrap,
    )
    assert forwarded.returncode == 0, forwarded.stdout + forwarded.stderr
    received = otlp_backend.wait_for_spans(len(expected))

    assert Counter(s.span_id for s in received) == Counter(expected.keys())  # each once, all
    checkpoint_children = 0
    for got in received:
        span, parent, root = expected[got.span_id]
        assert got.trace_id == span.trace_id.hex()
        assert got.parent_span_id == ("" if parent is None else parent.span_id.hex())
        assert got.name == span.name
        assert got.scope == span.scope
        assert got.resource["service.name"] == "spanstream"
        assert got.resource.get("job_name") == root.attributes.get("<job_name>")
        assert "job_name" not in got.attributes
        if parent is not None and parent.name == "Checkpoint":
            checkpoint_children += 1
    assert checkpoint_children > 0, "the demo reported Checkpoint spans with task children"
    assert f"forwarded {len(roots) + len(events):,} records" in forwarded.stdout
    logs = otlp_backend.wait_for_logs(len(events))
    assert Counter(log.attributes["spanstream.event_id"] for log in logs) == Counter(
        event.event_id.hex() for event in events
    )


def test_nothing_is_committed_before_it_is_exported_and_nothing_is_lost(
    kafka_bootstrap, new_topic, otlp_backend
):
    """With the backend down, offsets stay put; once it is back every span arrives."""
    topic = new_topic(partitions=2)
    group = f"forward-{uuid.uuid4().hex[:8]}"
    first, second = _spans(20, "before"), _spans(30, "during")
    _produce(kafka_bootstrap, topic, first)
    totals: list[ForwardStats] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            forward_spans(
                topic,
                bootstrap_servers=kafka_bootstrap,
                otlp=OtlpSettings(otlp_backend.grpc_endpoint, timeout_s=1.0),
                group_id=group,
                retry_timeout_s=120.0,
                stop=stop,
                on_batch=totals.append,
            )
        except BaseException as exc:
            errors.append(exc)

    forwarder = threading.Thread(target=run)
    forwarder.start()
    try:
        _wait(lambda: bool(totals) and totals[-1].records == 20, "the first 20 records")
        assert _committed(kafka_bootstrap, group, topic, 2) == 20

        otlp_backend.stop()
        _produce(kafka_bootstrap, topic, second)
        time.sleep(6)  # several failed exports, each retried
        assert totals[-1].records == 20
        assert _committed(kafka_bootstrap, group, topic, 2) == 20  # nothing past the export

        otlp_backend.start()
        _wait(lambda: totals[-1].records == 50, "all 50 records after the backend came back")
        assert _committed(kafka_bootstrap, group, topic, 2) == 50
        assert totals[-1].failed_exports > 0
    finally:
        stop.set()
        forwarder.join(120)
    assert not errors
    received = {s.span_id for s in otlp_backend.wait_for_spans(100)}
    expected = {s.span_id.hex() for root in first + second for s, _, _ in root.walk()}
    assert expected <= received


def test_an_export_that_keeps_failing_raises_and_commits_nothing(kafka_bootstrap, new_topic):
    """Past the retry timeout ForwardError is raised, and the group has no offsets."""
    topic = new_topic(partitions=1)
    group = f"forward-{uuid.uuid4().hex[:8]}"
    _produce(kafka_bootstrap, topic, _spans(5, "lost-backend"))
    with pytest.raises(ForwardError, match="nothing past the last exported batch"):
        forward_spans(
            topic,
            bootstrap_servers=kafka_bootstrap,
            otlp=OtlpSettings("http://127.0.0.1:9", timeout_s=0.5),
            group_id=group,
            retry_timeout_s=2.0,
        )
    assert _committed(kafka_bootstrap, group, topic, 1) == 0


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_forward_over_http_with_gzip_arrives_complete(kafka_bootstrap, new_topic, otlp_backend):
    """OTLP/HTTP (the /v1/traces path added) with gzip bodies: every span, with its resource."""
    topic = new_topic(partitions=1)
    spans = _spans(10, "http")
    _produce(kafka_bootstrap, topic, spans)
    totals = forward_spans(
        topic,
        bootstrap_servers=kafka_bootstrap,
        otlp=OtlpSettings(otlp_backend.http_endpoint, protocol="http", compression="gzip"),
        group_id=f"forward-{uuid.uuid4().hex[:8]}",
        service_name="pipeline",
        idle_timeout_s=3.0,
    )
    assert (totals.records, totals.spans, totals.failed_exports) == (10, 20, 0)
    received = otlp_backend.wait_for_spans(20)
    assert {s.span_id for s in received} == {
        s.span_id.hex() for root in spans for s, _, _ in root.walk()
    }
    assert all(
        s.resource == {"service.name": "pipeline", "host": "worker-1", "job_id": "j-1"}
        for s in received
    )


def test_sigterm_stops_forward_cleanly_after_its_batch(kafka_bootstrap, new_topic, otlp_backend):
    """SIGTERM: the command exports what it holds, commits, prints its totals and exits 0."""
    topic = new_topic(partitions=1)
    group = f"forward-{uuid.uuid4().hex[:8]}"
    _produce(kafka_bootstrap, topic, _spans(5, "sigterm"))
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    process = subprocess.Popen(
        [
            *SPANSTREAM,
            "forward",
            topic,
            "--otlp-endpoint",
            otlp_backend.grpc_endpoint,
            "--group",
            group,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        otlp_backend.wait_for_spans(10)
        _wait(lambda: _committed(kafka_bootstrap, group, topic, 1) == 5, "the commit")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert process.returncode == 0, err
    assert "forwarded 5 records (10 spans with their children, 0 events)" in out


def test_a_topic_of_spans_and_events_arrives_as_spans_and_log_records(
    kafka_bootstrap, new_topic, otlp_backend
):
    """Event records beside span records: both exported (events as logs), then committed."""
    topic = new_topic(partitions=1)
    group = f"forward-{uuid.uuid4().hex[:8]}"
    spans = _spans(3, "mixed")
    event = (
        Event.builder("org.apache.flink.runtime.jobmaster.JobMaster", "JobStatusChangeEvent")
        .set_observed_ts_millis(1_700_000_000_000)
        .set_severity("INFO")
        .set_attribute("newJobStatus", "RUNNING")
        .build(variables={"<job_name>": "etl", "<host>": "jm-0"})
    )
    _produce(kafka_bootstrap, topic, spans)
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    producer.produce(topic, encode_event(event))
    assert producer.flush(60) == 0

    totals = forward_spans(
        topic,
        bootstrap_servers=kafka_bootstrap,
        otlp=otlp_backend.grpc_endpoint,
        group_id=group,
        idle_timeout_s=3.0,
    )
    assert (totals.records, totals.spans, totals.events) == (4, 6, 1)
    assert len(otlp_backend.wait_for_spans(6)) == 6
    (log,) = otlp_backend.wait_for_logs(1)
    assert log.attributes["name"] == "JobStatusChangeEvent"
    assert log.attributes["newJobStatus"] == "RUNNING"
    assert log.observed_ns == 1_700_000_000_000 * 10**6
    assert log.resource == {"service.name": "spanstream", "job_name": "etl", "host": "jm-0"}
    assert _committed(kafka_bootstrap, group, topic, 1) == 4
