"""Analytics on consumed spans (real broker): typed system-trace views, tables, Parquet."""

import uuid

import pyarrow.parquet as pq
from confluent_kafka import Producer

from spanstream.consumer import SpanConsumer, checkpoint_health, to_pandas, write_parquet
from spanstream.schemas import Span, encode_span
from spanstream.schemas.system import (
    CheckpointSpanDetailLevel,
    CheckpointSubtaskStats,
    CheckpointTaskStats,
    CheckpointTrace,
    JobFailureTrace,
    JobInitializationTrace,
    checkpoint_span,
    job_failure_span,
    job_initialization_span,
)

JOB = {"<job_id>": "a1b2", "<job_name>": "Orders"}


def _system_spans() -> list[Span]:
    tasks = [
        CheckpointTaskStats(
            f"vertex-{v}",
            tuple(
                CheckpointSubtaskStats(s, 1_700_000_000_100 + 10 * s, {"StateSizeBytes": 64 * s})
                for s in range(3)
            ),
        )
        for v in range(2)
    ]
    checkpoint = checkpoint_span(
        checkpoint_id=42,
        trigger_ts_millis=1_700_000_000_000,
        latest_ack_ts_millis=1_700_000_000_120,
        full_size_bytes=4096,
        checkpointed_size_bytes=512,
        tasks=tasks,
        detail_level=CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK,
    ).build(extra_attributes=JOB)
    initialization = job_initialization_span(
        start_ts_millis=1_699_999_990_000,
        end_ts_millis=1_699_999_995_000,
        checkpoint_id=41,
        full_size_bytes=4000,
    ).build(extra_attributes=JOB)
    failure = job_failure_span(
        failure_ts_millis=1_700_000_100_000, can_restart=True, failure_labels={"type": "user"}
    ).build(extra_attributes=JOB)
    custom = Span.builder("my.app.Compactor", "Compaction").build(extra_attributes=JOB)
    return [checkpoint, initialization, failure, custom]


def _consume_all(bootstrap: str, topic: str, expected: int):
    with SpanConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}", start="earliest"
    ) as consumer:
        batch = consumer.poll_batch(max_spans=expected, timeout_s=30)
        batch.ack()
    return batch


def _publish(bootstrap: str, topic: str, spans: list[Span]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in spans:
        producer.produce(topic, encode_span(span), key=span.trace_id)
    assert producer.flush(30) == 0


def test_consumed_system_traces_read_as_typed_views(kafka_bootstrap, new_topic):
    """Consumed Flink system traces read through their typed views; other spans have none."""
    topic = new_topic(partitions=1)
    _publish(kafka_bootstrap, topic, _system_spans())
    batch = _consume_all(kafka_bootstrap, topic, 4)
    views = [record.system_trace for record in batch]
    checkpoint, initialization, failure, custom = views
    assert isinstance(checkpoint, CheckpointTrace)
    assert (checkpoint.checkpoint_id, checkpoint.status, checkpoint.duration_millis) == (
        42,
        "COMPLETED",
        120,
    )
    assert [task.span.attributes["jobVertexId"] for task in checkpoint.tasks] == [
        "vertex-0",
        "vertex-1",
    ]
    assert isinstance(initialization, JobInitializationTrace)
    assert initialization.checkpoint_id == 41
    assert isinstance(failure, JobFailureTrace)
    assert failure.can_restart is True
    assert failure.failure_labels == {"type": "user"}
    assert custom is None
    assert checkpoint_health(batch)["a1b2"].count == 1


def test_consumed_batch_to_tables_and_parquet(kafka_bootstrap, new_topic, tmp_path):
    """A consumed batch becomes one row per span (children flattened), in pandas and Parquet."""
    topic = new_topic(partitions=1)
    spans = _system_spans()
    _publish(kafka_bootstrap, topic, spans)
    batch = _consume_all(kafka_bootstrap, topic, 4)
    total_spans = sum(1 for span in spans for _ in span.walk())
    assert total_spans == 1 + 2 + 6 + 3  # the checkpoint has 2 tasks of 3 subtasks each

    frame = to_pandas(batch)
    assert len(frame) == total_spans
    assert list(frame["depth"].value_counts().sort_index()) == [4, 2, 6]
    root = frame[frame["name"] == "Checkpoint"].iloc[0]
    assert root["attr.checkpointId"] == 42
    assert root["offset"] == 0
    children = frame[frame["parent_span_id"] == root["span_id"]]
    assert sorted(children["attr.jobVertexId"]) == ["vertex-0", "vertex-1"]

    path = tmp_path / "batch.parquet"
    assert write_parquet(batch, path) == total_spans
    table = pq.read_table(path)
    assert table.column("span_id").to_pylist() == list(frame["span_id"])
