"""The SpanConsumer side of the consume and latency rows."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from spanstream.schemas import Span


@contextmanager
def span_consumer(bootstrap: str, topic: str) -> Iterator[Any]:
    """A SpanConsumer with its defaults, a fresh group, reading ``topic`` from the start."""
    from spanstream.consumer import SpanConsumer

    consumer = SpanConsumer(
        [topic],
        bootstrap_servers=bootstrap,
        group_id=f"bench-spanstream-{uuid.uuid4().hex[:8]}",
        start="earliest",
    )
    try:
        yield consumer
    finally:
        consumer.close()


def read_spans(bootstrap: str, topic: str, spans: int, *, batch_size: int) -> float:
    """Read ``spans`` spans through the batch API; return spans/s after the first batch.

    The clock starts once the first batch is in (so joining the group is not counted), and
    that batch's spans are not counted either.
    """
    seen = 0
    counted_from = 0
    start = 0.0
    deadline = time.monotonic() + 300
    with span_consumer(bootstrap, topic) as consumer:
        while seen < spans and time.monotonic() < deadline:
            # Never ask for more than remain: poll_batch waits its timeout for a full batch.
            batch = consumer.poll_batch(max_spans=min(batch_size, spans - seen), timeout_s=1.0)
            records = batch.records
            for record in records:
                record.span  # noqa: B018 - the decoded span is what is being paid for
            batch.ack()
            if records and seen == 0:
                start = time.perf_counter()
                counted_from = len(records)
            seen += len(records)
        elapsed = time.perf_counter() - start
    if seen < spans:
        raise RuntimeError(f"SpanConsumer saw {seen} of {spans} spans")
    return (seen - counted_from) / elapsed


def iter_spans(consumer: Any, *, idle_timeout_s: float) -> Iterator[Span]:
    """Each span as the consumer yields it (one record at a time), until it goes quiet."""
    for record in consumer.iter_records(idle_timeout_s=idle_timeout_s):
        yield record.span
