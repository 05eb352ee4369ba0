"""Reading the span topic in a Flink job: the README's PyFlink jobs compute per-job checkpoint
health in event-time windows (each row equal to ``checkpoint_health`` of the same spans) and
query the topic with Flink SQL."""

from __future__ import annotations

import ast
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from _helpers import run_pyflink
from _readme import python_block
from confluent_kafka import Producer

from spanstream.consumer import checkpoint_event_time_millis, checkpoint_health
from spanstream.schemas import Span, encode_span
from spanstream.schemas.system import checkpoint_span

README = Path(__file__).resolve().parents[2] / "README.md"
WINDOW_MS = 60_000
BASE_MS = 1_700_000_040_000

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _readme_example(index: int = 0) -> str:
    return python_block("Checkpoint health in a Flink job", index)


def _checkpoints() -> list[Span]:
    spans = []
    for job in ("etl-7", "billing"):
        for i in range(1, 31):
            trigger = BASE_MS + 6_000 * i
            failed = job == "etl-7" and i % 5 == 0
            # every other failed checkpoint was acknowledged by no subtask: it ends at -1
            ack = -1 if failed and i % 10 == 0 else trigger + 37 * i
            spans.append(
                checkpoint_span(
                    checkpoint_id=i,
                    trigger_ts_millis=trigger,
                    latest_ack_ts_millis=ack,
                    full_size_bytes=1_000 * i,
                    checkpointed_size_bytes=100,
                    status="FAILED" if failed else "COMPLETED",
                ).build(extra_attributes={"<job_id>": job, "<job_name>": f"{job}-name"})
            )
    return spans


def _seed(bootstrap: str, topic: str) -> list[Span]:
    """Two jobs' checkpoints, 5 other spans, one checkpoint twice and a non-span record."""
    checkpoints = _checkpoints()
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in checkpoints:
        producer.produce(topic, encode_span(span))
    for _ in range(5):
        compaction = Span.builder("my.app.Compactor", "Compaction").add_child(
            Span.builder("my.app.Compactor", "Merge")
        )
        producer.produce(topic, encode_span(compaction.build()))
    producer.produce(topic, encode_span(checkpoints[3]))  # delivered twice
    producer.produce(topic, b"not a span")
    assert producer.flush(30) == 0
    return checkpoints


def _expected(spans: list[Span]) -> dict[tuple[str, int], dict[str, object]]:
    windows: dict[tuple[str, int], list[Span]] = defaultdict(list)
    for span in spans:
        start = checkpoint_event_time_millis(encode_span(span)) // WINDOW_MS * WINDOW_MS
        windows[(str(span.attributes["<job_id>"]), start)].append(span)
    expected = {}
    for (job, start), members in windows.items():
        health = checkpoint_health(members)[job]
        expected[(job, start)] = {
            "job_id": job,
            "job_name": health.job_name,
            "window_start_millis": start,
            "window_end_millis": start + WINDOW_MS,
            "count": health.count,
            "completed": health.completed,
            "failed": health.failed,
            "failure_rate": health.failure_rate,
            "duration_p95_millis": health.duration_p95_millis,
            "duration_max_millis": health.duration_max_millis,
        }
    return expected


def test_readme_flink_job_rows_equal_checkpoint_health_per_window(
    kafka_bootstrap: str, new_topic, tmp_path: Path
) -> None:
    """Two jobs' checkpoints over four windows, plus other spans, a duplicate and a non-span."""
    topic = new_topic()
    checkpoints = _seed(kafka_bootstrap, topic)
    script = tmp_path / "health.py"
    script.write_text(
        _readme_example(0)
        .replace('"localhost:9092"', repr(kafka_bootstrap))
        .replace('"flink-traces"', repr(topic))
        .replace('"checkpoint-health"', repr(f"health-{uuid.uuid4().hex[:8]}")),
        encoding="utf-8",
    )
    result = run_pyflink(script, cwd=tmp_path)
    rows = [ast.literal_eval(line) for line in result.stdout.splitlines() if line.startswith("{")]

    expected = _expected(checkpoints)
    assert len(expected) == 8  # 2 jobs x 4 windows
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["job_id"], row["window_start_millis"])]
        assert set(row) == set(want)
        for key, value in want.items():
            # floats cross the JVM as doubles: equal up to the last bit of rounding
            exact = value if not isinstance(value, float) else pytest.approx(value, rel=1e-12)
            assert row[key] == exact, key


def test_readme_flink_sql_query_counts_the_topics_root_spans(
    kafka_bootstrap: str, new_topic, tmp_path: Path
) -> None:
    """span_rows as a table: SQL groups root spans by <job_id> and name, as the topic holds them."""
    topic = new_topic()
    checkpoints = _seed(kafka_bootstrap, topic)
    script = tmp_path / "sql.py"
    script.write_text(
        _readme_example(1)
        .replace('"localhost:9092"', repr(kafka_bootstrap))
        .replace('"flink-traces"', repr(topic))
        .replace('"span-sql"', repr(f"sql-{uuid.uuid4().hex[:8]}")),
        encoding="utf-8",
    )
    result = run_pyflink(script, cwd=tmp_path)
    rows = {ast.literal_eval(line) for line in result.stdout.splitlines() if line.startswith("(")}

    def longest(job: str) -> int:
        return max(
            s.end_ts_millis - s.start_ts_millis
            for s in checkpoints
            if s.attributes["<job_id>"] == job
        )

    # the raw topic: the checkpoint delivered twice is two rows (checkpoint_health dedups, SQL not)
    assert rows == {
        ("billing", "Checkpoint", 30, longest("billing")),
        ("etl-7", "Checkpoint", 31, longest("etl-7")),
        (None, "Compaction", 5, 0),
    }
