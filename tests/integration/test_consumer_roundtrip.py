"""100,000 spans through the Kafka reporter, the broker and SpanConsumer come back exactly."""

import math
import random
import time
import uuid

import pytest

from spanstream.consumer import SpanConsumer
from spanstream.producer import KafkaTraceReporter, MetricConfig
from spanstream.schemas import Span, SpanBuilder
from spanstream.schemas.system import checkpoint_span

COUNT = 100_000


def _varied_span(rng: random.Random, i: int) -> Span:
    if i % 10 == 0:
        builder = checkpoint_span(
            checkpoint_id=i,
            trigger_ts_millis=1_700_000_000_000 + i,
            latest_ack_ts_millis=1_700_000_000_000 + i + rng.randrange(5_000),
            full_size_bytes=rng.randrange(2**40),
            checkpointed_size_bytes=rng.randrange(2**30),
            status="FAILED" if i % 70 == 0 else "COMPLETED",
        )
    else:
        builder = SpanBuilder(f"org.example.op{i % 7}.Operator", f"span-{i}").set_start_ts_millis(
            rng.randrange(2**41)
        )
        builder.set_end_ts_millis(builder.start_ts_millis + rng.randrange(10**6))
        builder.set_attributes(
            {
                "long": rng.randrange(-(2**63), 2**63),
                "double": rng.choice([rng.random() * 1e9, -0.5, math.inf, 1e-300]),
                "flag": rng.random() < 0.5,
                "text": "ünïcødé ✓ " * rng.randrange(3),
            }
        )
        for c in range(i % 3):
            child = SpanBuilder("org.example.Child", f"child-{c}").set_start_ts_millis(i)
            child.set_attribute("c", c)
            if c == 1:
                child.add_child(SpanBuilder("org.example.Grandchild", "g").set_start_ts_millis(i))
            builder.add_child(child)
    return builder.build(extra_attributes={"<job_id>": f"job-{i % 4}", "<host>": "tm-1"})


@pytest.mark.slow
def test_100k_spans_through_reporter_broker_and_consumer_are_exact(kafka_bootstrap, new_topic):
    """Every span reported through KafkaTraceReporter is consumed back equal, once."""
    topic = new_topic(partitions=3)
    rng = random.Random(20261125)
    originals = {span.span_id: span for span in (_varied_span(rng, i) for i in range(COUNT))}
    assert len(originals) == COUNT

    reporter = KafkaTraceReporter()
    reporter.open(
        MetricConfig(
            {
                "bootstrap.servers": kafka_bootstrap,
                "topic": topic,
                "topic.create": "false",
                "queue.max.spans": str(2 * COUNT),
            },
            prefix="traces.reporter.kafka.",
        )
    )
    try:
        for span in originals.values():
            reporter.notify_of_added_span(span)
        assert reporter.flush(300) == 0
        assert reporter.snapshot().delivered == COUNT
    finally:
        reporter.close(30)

    received: dict[bytes, Span] = {}
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"g-{uuid.uuid4().hex[:10]}",
        start="earliest",
    ) as consumer:
        deadline = time.monotonic() + 600
        while len(received) < COUNT and time.monotonic() < deadline:
            batch = consumer.poll_batch(max_spans=10_000, timeout_s=1.0)
            for record in batch:
                received[record.span.span_id] = record.span
            batch.ack()
        stats = consumer.stats()
    assert stats.spans_delivered == COUNT
    assert stats.duplicate_spans == 0
    assert stats.bad_records == 0
    assert received.keys() == originals.keys()
    mismatched = [sid for sid, span in originals.items() if received[sid] != span]
    assert mismatched == []
