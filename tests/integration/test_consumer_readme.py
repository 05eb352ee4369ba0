"""The README's analytics job runs against the real broker and prints what the text says."""

import uuid
from pathlib import Path

import pyarrow.parquet as pq
from _readme import README, python_block
from confluent_kafka import Producer

from spanstream.schemas import Span, encode_span
from spanstream.schemas.system import checkpoint_span


def _example() -> str:
    return python_block("Consume spans in an analytics job")


def test_readme_analytics_example_is_about_ten_lines():
    """The example stays short enough to read at a glance (12 lines with the no-p95 guard)."""
    lines = [line for line in _example().strip().splitlines() if line.strip()]
    assert len(lines) <= 12


def test_readme_analytics_job_writes_parquet_and_prints_checkpoint_health(
    kafka_bootstrap, new_topic, tmp_path, monkeypatch, capsys
):
    """Run against a topic holding two jobs' checkpoints, custom spans and a poison record."""
    topic, dlq = new_topic(), new_topic(partitions=1)
    spans = [
        checkpoint_span(
            checkpoint_id=i,
            trigger_ts_millis=1_700_000_000_000 + 60_000 * i,
            latest_ack_ts_millis=1_700_000_000_000 + 60_000 * i + 100 * i,
            full_size_bytes=1_000 * i,
            checkpointed_size_bytes=100,
            status="FAILED" if (job == "etl-7" and i % 4 == 0) else "COMPLETED",
        ).build(extra_attributes={"<job_id>": job})
        for job in ("etl-7", "billing")
        for i in range(1, 21)
    ]
    spans += [Span.builder("my.app.Compactor", "Compaction").build() for _ in range(10)]
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for span in spans:
        producer.produce(topic, encode_span(span), key=span.trace_id)
    producer.produce(topic, b"not a span")
    assert producer.flush(30) == 0

    code = (
        _example()
        .replace('"flink-traces"', repr(topic))
        .replace('"flink-traces-dlq"', repr(dlq))
        .replace('"nightly-report"', repr(f"readme-{uuid.uuid4().hex[:8]}"))
    )
    assert "localhost" not in code  # the brokers come from the environment, as written
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})

    assert sorted(capsys.readouterr().out.splitlines()) == [
        "billing: 20 checkpoints, 0% failed, p95 1905 ms",
        "etl-7: 20 checkpoints, 25% failed, p95 1830 ms",
    ]
    files = sorted(Path(tmp_path).glob("spans-*.parquet"))
    assert files
    assert sum(pq.read_metadata(f).num_rows for f in files) == 50
