"""The Java plugin in a real Flink 2.3 job: what a JobManager sends, read by spanstream.

One streaming job runs on a local MiniCluster (checkpoints every 200 ms,
``traces.checkpoint.span-detail-level: CHILDREN_SPANS_PER_TASK``, one deliberate task failure,
then a restore from a checkpoint) with the plugin loaded from Flink's plugins directory and
configured only by the README's ``config.yaml`` example (``traces.reporter.kafka.*`` and
``events.reporter.kafka.*``, with this session's broker and topics). The tests read its two
topics from the session broker.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import tomllib
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator, Mapping

import pytest
from _flink_run import ROOT, FlinkRun, build, event_fingerprint, run_proof_job
from _helpers import read_topic, run_cli
from confluent_kafka.admin import AdminClient

from spanstream.consumer import SpanConsumer
from spanstream.schemas import SCHEMA_FINGERPRINT, Span
from spanstream.schemas.system import INITIALIZATION_METRICS, RESTORED_STATE_LOCATIONS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

VARIABLES = ("<job_id>", "<job_name>", "<host>", "jobId")
SYSTEM_EVENTS = ("JobFailureEvent", "CheckpointEvent", "JobStatusChangeEvent")


@pytest.fixture(scope="module")
def flink_run(
    kafka_bootstrap: str, kafka_admin: AdminClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FlinkRun]:
    """The proof job, run once for this module; its topics are deleted afterwards.

    The topics do not exist before the job: the plugin creates them (``topic.create``).
    """
    created: list[str] = []

    def make_topic(kind: str) -> str:
        created.append(f"test-flink-{kind}-{uuid.uuid4().hex[:8]}")
        return created[-1]

    try:
        run = run_proof_job(
            kafka_bootstrap, make_topic, read_topic, tmp_path_factory.mktemp("flink")
        )
        created.append(f"{run.traces_topic}-small")  # the "small" reporter created it
        yield run
    finally:
        for future in kafka_admin.delete_topics(created, operation_timeout=30).values():
            with contextlib.suppress(Exception):  # one that was never created
                future.result(timeout=30)


def _roots(run: FlinkRun, name: str) -> list[Span]:
    return [span for span in run.spans if span.name == name]


def _counter_line(run: FlinkRun, kind: str, topic: str) -> dict[str, str]:
    """The counters a reporter logged when the JVM shut down."""
    match = re.search(
        rf"Kafka {kind} reporter \(topic {re.escape(topic)}\) closed: "
        r"notified=(\d+) accepted=(\d+) delivered=(\d+) failed=(\{[^}]*\}) dropped=(\{[^}]*\})",
        run.output,
    )
    assert match, run.output[-3000:]
    keys = ("notified", "accepted", "delivered", "failed", "dropped")
    return dict(zip(keys, match.groups(), strict=True))


def test_the_plugins_java_tests_pass():
    """mvn package ran the plugin's JUnit tests (Surefire) and none failed."""
    reports = list((build("plugin").parent / "surefire-reports").glob("TEST-*.xml"))
    assert reports
    suites = [ET.parse(report).getroot() for report in reports]
    assert sum(int(s.get("tests", "0")) for s in suites) >= 20
    assert sum(int(s.get("failures", "0")) + int(s.get("errors", "0")) for s in suites) == 0


def test_java_fingerprints_equal_pythons():
    """The jar's span and event schemas have Python's fingerprints: one contract, no copy."""
    # Flink provides slf4j to plugins; outside Flink the proof's copy stands in.
    proof_classpath = (build("proof") / "classpath.txt").read_text("utf-8").strip().split(":")
    slf4j = next(jar for jar in proof_classpath if "/slf4j-api-" in jar)
    done = subprocess.run(
        ["java", "-cp", f"{build('plugin')}:{slf4j}", "io.spanstream.flink.Contract"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    printed = dict(line.split() for line in done.stdout.splitlines())
    assert printed == {
        "span.avsc": SCHEMA_FINGERPRINT.hex(),
        "event.avsc": event_fingerprint().hex(),
    }


def test_the_plugin_has_the_python_packages_version():
    """pom.xml's version is pyproject.toml's: the producer header names the same version."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert build("plugin").name == f"spanstream-flink-kafka-{pyproject['project']['version']}.jar"


def test_the_job_ran_with_the_plugin_from_the_plugins_directory(flink_run):
    """The job finished after its failure and restore; the plugin was in plugins/, not on -cp."""
    assert flink_run.returncode == 0, flink_run.output[-3000:]
    assert "deliberate failure of the spanstream proof job" in flink_run.output
    assert "proof job finished" in flink_run.output
    assert flink_run.span_messages
    assert flink_run.event_messages


def test_the_plugin_creates_its_topics_as_the_python_reporter_does(flink_run, kafka_admin):
    """Missing topics are created with topic.partitions (3) partitions."""
    for topic in (flink_run.traces_topic, flink_run.events_topic):
        assert len(kafka_admin.list_topics(topic, timeout=30).topics[topic].partitions) == 3


def test_checkpoint_spans_have_task_children(flink_run):
    """Checkpoint spans arrive with their Checkpoint_Task children nested in the record."""
    checkpoints = _roots(flink_run, "Checkpoint")
    completed = [c for c in checkpoints if c.attributes["checkpointStatus"] == "COMPLETED"]
    assert len(completed) >= 3
    for checkpoint in completed:
        assert checkpoint.scope == "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
        assert [child.name for child in checkpoint.children] == ["Checkpoint_Task"] * len(
            checkpoint.children
        )
        assert len(checkpoint.children) == 2  # the source, and the map with its sink
        for child in checkpoint.children:
            assert child.attributes["checkpointId"] == checkpoint.attributes["checkpointId"]
            assert child.trace_id == checkpoint.trace_id
    span_ids = [s.span_id for c in checkpoints for s in (c, *c.children)]
    assert len(set(span_ids)) == len(span_ids)
    assert len({c.trace_id for c in checkpoints}) == len(checkpoints)


def test_job_initialization_names_the_restored_checkpoint(flink_run):
    """After the failure, a JobInitialization span names the completed checkpoint it restored."""
    completed = {
        c.attributes["checkpointId"]
        for c in _roots(flink_run, "Checkpoint")
        if c.attributes["checkpointStatus"] == "COMPLETED"
    }
    restored = [
        s.attributes["checkpointId"]
        for s in _roots(flink_run, "JobInitialization")
        if "checkpointId" in s.attributes
    ]
    assert restored
    assert set(restored) <= completed
    assert all(
        s.attributes["initializationStatus"] == "COMPLETED"
        for s in _roots(flink_run, "JobInitialization")
    )


def test_system_events_arrive(flink_run):
    """JobFailureEvent, CheckpointEvent and JobStatusChangeEvent arrive on the event topic."""
    events = flink_run.events
    names = {event.name for event in events}
    assert set(SYSTEM_EVENTS) <= names
    statuses = [e.attributes["newJobStatus"] for e in events if e.name == "JobStatusChangeEvent"]
    assert statuses[0] == "RUNNING"
    assert "RESTARTING" in statuses
    assert statuses[-1] == "FINISHED"
    failure = next(e for e in events if e.name == "JobFailureEvent")
    assert failure.attributes["canRestart"] == "true"
    checkpoints = {e.attributes["checkpointId"] for e in events if e.name == "CheckpointEvent"}
    assert checkpoints == {c.attributes["checkpointId"] for c in _roots(flink_run, "Checkpoint")}
    for event in events:
        assert (event.severity, event.body) == ("INFO", "")
        assert (event.trace_id, event.span_id) == (None, None)
        assert len(event.event_id) == 16
    assert len({event.event_id for event in events}) == len(events)


def test_every_record_carries_the_job_variables(flink_run):
    """Every span tree and event carries <job_id>, <job_name>, <host> and jobId."""
    records = [*(s.attributes for s in flink_run.spans), *(e.attributes for e in flink_run.events)]
    job_ids = set()
    for attributes in records:
        assert set(VARIABLES) <= set(attributes), sorted(attributes)
        assert attributes["<job_name>"] == flink_run.job_name
        assert attributes["<job_id>"] == attributes["jobId"]
        job_ids.add(attributes["jobId"])
    assert len(job_ids) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", job_ids.pop())


def test_records_have_the_python_reporters_headers_and_key(flink_run):
    """Headers, fingerprints and the record key are the Python reporter's."""
    for messages, fingerprint in (
        (flink_run.span_messages, SCHEMA_FINGERPRINT),
        (flink_run.event_messages, event_fingerprint()),
    ):
        for message in messages:
            assert dict(message.headers() or []) == {
                "content-type": b"application/vnd.apache.avro+binary; framing=single-object",
                "spanstream-schema-fingerprint": fingerprint.hex().encode(),
                "spanstream-producer": b"spanstream/0.1.0",
            }
    job_id = flink_run.spans[0].attributes["<job_id>"]
    keys = {m.key() for m in (*flink_run.span_messages, *flink_run.event_messages)}
    assert keys == {str(job_id).encode()}


def test_span_consumer_reads_the_trace_topic(flink_run, kafka_bootstrap):
    """SpanConsumer reads every span record the JobManager sent, with no bad record."""
    with SpanConsumer(
        flink_run.traces_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
    ) as consumer:
        records = []
        while len(records) < len(flink_run.span_messages):
            batch = consumer.poll_batch(max_spans=1000, timeout_s=30)
            assert batch, f"read {len(records)} of {len(flink_run.span_messages)}"
            records.extend(batch)
        stats = consumer.stats()
    assert sorted(r.span.name for r in records) == sorted(s.name for s in flink_run.spans)
    assert stats.bad_records == 0


def test_span_consumer_reads_the_event_topic(flink_run, kafka_bootstrap):
    """SpanConsumer reads every event record the JobManager sent, with no bad record."""
    with SpanConsumer(
        flink_run.events_topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
    ) as consumer:
        records = []
        while len(records) < len(flink_run.event_messages):
            batch = consumer.poll_batch(max_spans=1000, timeout_s=30)
            assert batch, f"read {len(records)} of {len(flink_run.event_messages)}"
            records.extend(batch)
        stats = consumer.stats()
    assert [r.event.name for r in records] == [e.name for e in flink_run.events]
    assert stats.bad_records == 0


def test_stats_shows_the_real_jobs_checkpoint_health(flink_run, kafka_bootstrap):
    """`spanstream stats` on the topic summarises the real job's checkpoints and restore."""
    done = run_cli("stats", flink_run.traces_topic, "--json", bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["bad_records"] == 0
    (job,) = document["jobs"]
    completed = [
        c
        for c in _roots(flink_run, "Checkpoint")
        if c.attributes["checkpointStatus"] == "COMPLETED"
    ]
    assert job["checkpoints"]["completed"] == len(completed)
    assert job["checkpoints"]["last_checkpoint_id"] == max(
        c.attributes["checkpointId"] for c in completed
    )
    assert job["initializations"]["restored_from_checkpoints"]


def test_every_record_given_to_the_plugin_was_delivered(flink_run):
    """At shutdown each reporter logged its counters: all delivered, none failed or dropped."""
    for kind, topic, messages in (
        ("trace", flink_run.traces_topic, flink_run.span_messages),
        ("event", flink_run.events_topic, flink_run.event_messages),
    ):
        counters = _counter_line(flink_run, kind, topic)
        assert counters["failed"] == "{}"
        assert counters["dropped"] == "{}"
        assert int(counters["notified"]) == int(counters["delivered"]) == len(messages)


def test_the_plugin_jar_is_what_the_readme_says():
    """The jar holds both service files and relocates Kafka and Avro."""
    with zipfile.ZipFile(build("plugin")) as jar:
        names = set(jar.namelist())
        assert (
            jar.read(
                "META-INF/services/org.apache.flink.traces.reporter.TraceReporterFactory"
            ).strip()
            == b"io.spanstream.flink.KafkaTraceReporterFactory"
        )
        assert (
            jar.read(
                "META-INF/services/org.apache.flink.events.reporter.EventReporterFactory"
            ).strip()
            == b"io.spanstream.flink.KafkaEventReporterFactory"
        )
    assert not any(n.startswith(("org/apache/kafka/", "org/apache/avro/")) for n in names)
    shaded = "io/spanstream/flink/shaded/org/apache/"
    assert f"{shaded}kafka/clients/producer/KafkaProducer.class" in names
    assert f"{shaded}avro/message/BinaryMessageEncoder.class" in names
    assert "io/spanstream/flink/schema/span.avsc" in names


def test_a_broker_down_and_bad_keys_do_not_hurt_the_job(flink_run):
    """A reporter with no broker, a bad value and an unknown key: WARNs and drops, no harm."""
    assert flink_run.returncode == 0
    prefix = "traces.reporter.<name>."
    assert f"{prefix}no.such.key is ignored" in flink_run.output
    assert f"{prefix}queue.max.spans=lots is not accepted: an integer from 1" in flink_run.output
    counters = _counter_line(flink_run, "trace", f"{flink_run.traces_topic}-down")
    assert counters["delivered"] == "0"
    assert int(counters["notified"]) == len(flink_run.span_messages)
    assert counters["dropped"] == f"{{closed={counters['notified']}}}"


def test_spans_over_the_record_limit_are_dropped_and_counted(flink_run, kafka_bootstrap):
    """record.max.bytes 1024: checkpoint trees are dropped too-large; the rest is delivered."""
    counters = _counter_line(flink_run, "trace", f"{flink_run.traces_topic}-small")
    dropped = int(re.fullmatch(r"\{too-large=(\d+)\}", counters["dropped"]).group(1))
    delivered = read_topic(kafka_bootstrap, f"{flink_run.traces_topic}-small")
    assert dropped >= len(_roots(flink_run, "Checkpoint"))
    assert dropped + len(delivered) == int(counters["notified"]) == len(flink_run.span_messages)
    assert all(len(m.value()) + len(m.key() or b"") < 1024 for m in delivered)


# -- conformance: real Flink is the oracle for spanstream.schemas' builders -----------------------

_TYPE_NAMES = {str: "string", int: "long", float: "double", bool: "boolean"}


def _shape(scope: str, attributes: Mapping[str, object]) -> tuple[str, dict[str, str]]:
    """A record's scope and its attribute names with value types, scope variables left out.

    Scope variables (``<host>``, ``<job_id>``...) come from the metric group, not the builders.
    """
    return scope, {
        key: _TYPE_NAMES[type(value)]
        for key, value in sorted(attributes.items())
        if not key.startswith("<")
    }


def _observed_shapes(run: FlinkRun) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Each span and event name with the distinct shapes real Flink wrote for it."""
    shapes: dict[str, list[tuple[str, dict[str, str]]]] = {}

    def add(name: str, shape: tuple[str, dict[str, str]]) -> None:
        if shape not in shapes.setdefault(name, []):
            shapes[name].append(shape)

    def walk(span: Span) -> None:
        add(span.name, _shape(span.scope, span.attributes))
        for child in span.children:
            walk(child)

    for span in run.spans:
        walk(span)
    for event in run.events:
        add(event.name, _shape(event.scope, event.attributes))
    return shapes


def _builder_shapes(
    initializations: list[tuple[list[str], bool]],
) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """The shapes spanstream.schemas' builders give the same names, at CHILDREN_SPANS_PER_TASK.

    ``initializations``: for each JobInitialization Flink sent, the metrics it reported (which
    depend on the state backend and on whether state was restored) and whether it restored.
    """
    # Imported here: a builder missing from spanstream.schemas fails this test only.
    from spanstream.schemas.system import (
        CHECKPOINT_METRICS,
        CheckpointSubtaskStats,
        CheckpointTaskStats,
        all_subtasks_status_change_event,
        checkpoint_event,
        checkpoint_span,
        job_failure_event,
        job_initialization_span,
        job_status_change_event,
    )

    job = "0" * 32
    task = CheckpointTaskStats(
        "v", (CheckpointSubtaskStats(0, 2, dict.fromkeys(CHECKPOINT_METRICS, 1)),)
    )
    checkpoint = checkpoint_span(
        checkpoint_id=1,
        trigger_ts_millis=1,
        latest_ack_ts_millis=2,
        full_size_bytes=1,
        checkpointed_size_bytes=1,
        metadata_size_bytes=1,
        tasks=[task],
        detail_level="CHILDREN_SPANS_PER_TASK",
        job_id=job,
    ).build()
    initialization_spans = [
        job_initialization_span(
            start_ts_millis=1,
            end_ts_millis=2,
            durations=dict.fromkeys(metrics, (1, 1)),
            job_id=job,
            **({"checkpoint_id": 1, "full_size_bytes": 1} if restored else {}),
        ).build()
        for metrics, restored in initializations
    ]
    events = [
        checkpoint_event(
            checkpoint_id=1,
            latest_ack_ts_millis=2,
            full_size_bytes=1,
            checkpointed_size_bytes=1,
            metadata_size_bytes=1,
            job_id=job,
        ),
        job_status_change_event(new_job_status="RUNNING", job_id=job),
        job_failure_event(can_restart=True, is_global_failure=False, job_id=job),
        all_subtasks_status_change_event(status="ALL_RUNNING_OR_FINISHED", job_id=job),
    ]
    shapes: dict[str, list[tuple[str, dict[str, str]]]] = {
        "Checkpoint": [_shape(checkpoint.scope, checkpoint.attributes)],
        "Checkpoint_Task": [_shape(c.scope, c.attributes) for c in checkpoint.children[:1]],
        "JobInitialization": [_shape(s.scope, s.attributes) for s in initialization_spans],
    }
    for builder in events:
        event = builder.build()
        shapes[event.name] = [_shape(event.scope, event.attributes)]
    return shapes


def test_conformance_flinks_attributes_are_the_builders(flink_run, tmp_path):
    """Each system span and event: real Flink's attribute names and types are the builders'."""
    observed = _observed_shapes(flink_run)
    (tmp_path / "observed.json").write_text(json.dumps(observed, indent=1), "utf-8")
    initializations = [
        ([key.removeprefix("max") for key in attributes if key.startswith("max")], restored)
        for _scope, attributes in observed.get("JobInitialization", [])
        for restored in ["checkpointId" in attributes]
    ]
    known = {
        *INITIALIZATION_METRICS,
        *(f"RestoredStateSizeBytes.{loc}" for loc in RESTORED_STATE_LOCATIONS),
    }
    assert all(set(metrics) <= known for metrics, _ in initializations), initializations
    expected = _builder_shapes(initializations)
    for name, shapes in observed.items():
        assert name in expected, f"Flink sent {name}, which no builder makes"
        for shape in shapes:
            assert shape in expected[name], (
                f"{name}: Flink wrote {json.dumps(shape)}; "
                f"the builders make {json.dumps(expected[name])}"
            )
    assert {"Checkpoint", "Checkpoint_Task", "JobInitialization", *SYSTEM_EVENTS} <= set(observed)
