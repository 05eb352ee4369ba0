"""Spans from PyFlink user functions: real PyFlink 2.3 jobs, executed locally, read back with
SpanConsumer from the session broker."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from _helpers import run_pyflink
from _readme import python_block
from _topics import create_topic, delete_topics
from confluent_kafka.admin import AdminClient

from spanstream.consumer import EventRecord, SpanConsumer
from spanstream.schemas import Event, Span

README = Path(__file__).resolve().parents[2] / "README.md"
JOBS = Path(__file__).parent / "pyflink_jobs"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _read_spans(bootstrap: str, topic: str, count: int) -> list[Span]:
    spans: list[Span] = []
    with SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"pyflink-{uuid.uuid4().hex[:8]}",
        start="earliest",
    ) as consumer:
        for record in consumer.iter_records(idle_timeout_s=10):
            spans.append(record.span)
            if len(spans) >= count:
                break
    return spans


def _readme_example() -> str:
    return python_block("Spans from PyFlink")


def _read_events(bootstrap: str, topic: str, count: int) -> list[Event]:
    events: list[Event] = []
    with SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"pyflink-{uuid.uuid4().hex[:8]}",
        start="earliest",
    ) as consumer:
        for record in consumer.iter_records(idle_timeout_s=10):
            assert isinstance(record, EventRecord), record
            events.append(record.event)
            if len(events) >= count:
                break
    return events


@pytest.fixture(scope="module")
def readme_run(
    kafka_bootstrap: str, kafka_admin: AdminClient, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[Span], list[Event]]:
    """The README's PyFlink job, run once as written (broker and topics substituted)."""
    topic = create_topic(kafka_admin, f"test-pyflink-readme-{uuid.uuid4().hex[:8]}")
    events_topic = create_topic(kafka_admin, f"test-pyflink-readme-ev-{uuid.uuid4().hex[:8]}")
    folder = tmp_path_factory.mktemp("pyflink-readme")
    script = folder / "enrich.py"
    script.write_text(
        _readme_example()
        .replace('"localhost:9092"', repr(kafka_bootstrap))
        .replace('"flink-traces"', repr(topic))
        .replace('"flink-events"', repr(events_topic)),
        encoding="utf-8",
    )
    try:
        result = run_pyflink(script, cwd=folder)
        job_id = re.search(r"job id ([0-9a-f]{32})", result.stdout)
        assert job_id is not None, result.stdout
        spans = _read_spans(kafka_bootstrap, topic, 6)
        return job_id.group(1), spans, _read_events(kafka_bootstrap, events_topic, 1)
    finally:
        delete_topics(kafka_admin, [topic, events_topic])


def test_readme_job_reports_one_span_per_record_with_its_child(
    readme_run: tuple[str, list[Span], list[Event]],
) -> None:
    """Each record's `with` span arrives with its Lookup child and the record's attribute."""
    _, spans, _ = readme_run
    assert sorted(span.attributes["order"] for span in spans) == list(range(6))
    for span in spans:
        assert (span.scope, span.name) == ("shop.Enrich", "Enrich")
        assert [child.name for child in span.children] == ["Lookup"]
        assert span.children[0].attributes["hit"] == (span.attributes["order"] % 2 == 0)
        assert span.end_ts_millis >= span.start_ts_millis > 0


def test_readme_job_spans_carry_the_job_id_flink_ran_the_job_under(
    readme_run: tuple[str, list[Span], list[Event]],
) -> None:
    """<job_id> is the JobID that Flink's JobExecutionResult reports; <job_name> the given name."""
    job_id, spans, _ = readme_run
    assert {span.attributes["<job_id>"] for span in spans} == {job_id}
    assert {span.attributes["<job_name>"] for span in spans} == {"enrich-orders"}


def test_readme_job_spans_carry_the_task_variables(
    readme_run: tuple[str, list[Span], list[Event]],
) -> None:
    """<task_name>, <subtask_index> (both subtasks), <task_attempt_num> and <host> are set."""
    _, spans, _ = readme_run
    assert {span.attributes["<task_name>"] for span in spans} == {"Map"}
    assert {span.attributes["<subtask_index>"] for span in spans} == {"0", "1"}
    assert {span.attributes["<task_attempt_num>"] for span in spans} == {"0"}
    # PyFlink's bundled config.yaml sets taskmanager.host: localhost, the JVM's <host> locally
    assert {span.attributes["<host>"] for span in spans} == {"localhost"}


# PyFlink runs a local job's Python functions in the client process ("loopback"); on a cluster
# each task manager starts Python worker processes ("process"). PyFlink's own switch between
# the two is this environment variable; the job runs both ways.
def test_readme_job_event_carries_its_span_ids_and_the_variables(
    readme_run: tuple[str, list[Span], list[Event]],
) -> None:
    """The event reported inside the first record's span names that span and the job."""
    job_id, spans, events = readme_run
    (event,) = events
    (first,) = [span for span in spans if span.attributes["order"] == 0]
    assert (event.scope, event.name, event.severity) == ("shop.Enrich", "FirstOrder", "INFO")
    assert (event.trace_id, event.span_id) == (first.trace_id, first.span_id)
    assert event.attributes["<job_id>"] == job_id
    assert event.attributes["<task_name>"] == "Map"


@pytest.fixture(scope="module", params=["loopback", "process"])
def failover_run(
    kafka_bootstrap: str,
    kafka_admin: AdminClient,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> tuple[str, list[Span]]:
    """The job of pyflink_jobs/report_spans.py: every form of reporting, one failure, counts."""
    topic = create_topic(kafka_admin, f"test-pyflink-forms-{uuid.uuid4().hex[:8]}")
    job_id = uuid.uuid4().hex
    try:
        run_pyflink(
            JOBS / "report_spans.py",
            kafka_bootstrap,
            topic,
            job_id,
            cwd=tmp_path_factory.mktemp("pyflink-forms"),
            env={"_python_worker_execution_mode": request.param},
        )
        # attempt 0: 3 records x 3 spans + BeforeFailure; attempt 1: 5 x 3 + Counts
        return job_id, _read_spans(kafka_bootstrap, topic, 26)
    finally:
        delete_topics(kafka_admin, [topic])


def test_add_span_with_children_span_and_traced_all_arrive(
    failover_run: tuple[str, list[Span]],
) -> None:
    """add_span (with a child), the `with` form and @traced each report once per record."""
    _, spans = failover_run
    attempt_1 = [s for s in spans if s.attributes["<task_attempt_num>"] == "1"]
    names = sorted(s.name for s in attempt_1 if s.name != "Counts")
    assert names == sorted(["Record", "Block", "Step"] * 5)
    for record in (s for s in attempt_1 if s.name == "Record"):
        assert [child.name for child in record.children] == ["Part"]


def test_a_span_reported_before_a_task_failure_is_not_lost(
    failover_run: tuple[str, list[Span]],
) -> None:
    """The span reported just before the task failed arrives, never flushed by a close()."""
    job_id, spans = failover_run
    before = [s for s in spans if s.name == "BeforeFailure"]
    assert len(before) == 1
    assert before[0].attributes["<task_attempt_num>"] == "0"
    assert before[0].attributes["<job_id>"] == job_id


def test_the_restarted_attempt_reports_with_its_attempt_number(
    failover_run: tuple[str, list[Span]],
) -> None:
    """After the restart, spans carry <task_attempt_num> 1 and the same <job_id>."""
    job_id, spans = failover_run
    assert {s.attributes["<task_attempt_num>"] for s in spans} == {"0", "1"}
    assert {s.attributes["<job_id>"] for s in spans} == {job_id}


def test_counts_after_flush_match_what_arrived(failover_run: tuple[str, list[Span]]) -> None:
    """pyflink_span_counts after a flush: every span before Counts delivered, none dropped."""
    _, spans = failover_run
    counts = [s for s in spans if s.name == "Counts"]
    assert len(counts) == 1
    # Counts are per worker process: this attempt's 15 spans when the restart started a new
    # worker (process mode), all 25 when it ran in the same one (loopback).
    assert counts[0].attributes["delivered"] in {15, len(spans) - 1}
    assert counts[0].attributes["dropped"] == 0
    assert counts[0].attributes["pending"] == 0


def test_a_table_udf_reports_spans_with_the_job_and_task_variables(
    kafka_bootstrap: str, new_topic, tmp_path: Path
) -> None:
    """A scalar UDF's open(function_context) gets the group; one span per row, job id fixed."""
    topic = new_topic()
    job_id = uuid.uuid4().hex
    result = run_pyflink(JOBS / "udf_spans.py", kafka_bootstrap, topic, job_id, cwd=tmp_path)
    assert "[10, 20, 30]" in result.stdout
    spans = _read_spans(kafka_bootstrap, topic, 3)
    assert sorted(span.attributes["x"] for span in spans) == [1, 2, 3]
    assert {span.attributes["<job_id>"] for span in spans} == {job_id}
    assert {span.attributes["<job_name>"] for span in spans} == {"udf-job"}
    assert all("PythonCalc" in str(span.attributes["<task_name>"]) for span in spans)
    assert {span.attributes["<subtask_index>"] for span in spans} == {"0"}
