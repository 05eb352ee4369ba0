"""A bad record never stops a partition, whatever its size (issue #12, item 1).

A 2 MB record that is not a span, and a record of every other poison kind, among 5,000 good
spans on a topic that holds records up to 3 MB: every good span arrives exactly once under each
policy. Under ``dead-letter`` the consumer creates the dead-letter topic sized for the source
topic's records; a dead-letter topic too small for a record gets its metadata-only copy; one
that refuses even that counts the record as dropped. Either way reading goes on.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Callable
from types import ModuleType

import pytest
from _helpers import read_topic
from confluent_kafka import Producer

from spanstream.consumer import (
    DLQ_OFFSET_HEADER,
    DLQ_OMITTED_HEADER,
    DLQ_REASON_HEADER,
    DLQ_TOPIC_HEADER,
    DLQ_VALUE_BYTES_HEADER,
    DLQ_VALUE_SHA256_HEADER,
    SpanConsumer,
)
from spanstream.schemas import DecodeError, Span, encode_span

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GOOD = 5_000
BIG_BYTES = 2_000_000
TOPIC_LIMIT = {"max.message.bytes": "3000000"}
IDLE_S = 6.0


@pytest.fixture(scope="module")
def poison(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("poison")


def _poison_of_every_kind(poison: ModuleType) -> list[tuple[str, bytes | None]]:
    """One record of each kind the reliability script knows, plus the 2 MB one."""
    rng = random.Random(12)
    valid = encode_span(Span.builder("org.example.Job", "template").set_attribute("k", 1).build())
    found: dict[str, bytes | None] = {}
    while len(found) < len(poison.KINDS):
        kind, value = poison.poison_record(rng, valid)
        found.setdefault(kind, value)
    big = b"not a span " + rng.randbytes(BIG_BYTES - 11)
    return [*sorted(found.items(), key=lambda item: item[0]), ("two-megabytes", big)]


def _seed(
    bootstrap: str, topic: str, poison: ModuleType
) -> tuple[set[bytes], dict[str, bytes | None]]:
    """GOOD spans with the poison spread among them over 3 partitions; the good span ids."""
    bad = _poison_of_every_kind(poison)
    producer = Producer(
        {"bootstrap.servers": bootstrap, "message.max.bytes": 3_100_000, "linger.ms": 5}
    )
    ids: set[bytes] = set()
    spread = {GOOD * (i + 1) // (len(bad) + 1): item for i, item in enumerate(bad)}
    for seq in range(GOOD):
        span = Span.builder("org.example.Job", f"good-{seq}").build()
        ids.add(span.span_id)
        producer.produce(topic, encode_span(span), partition=seq % 3)
        if seq in spread:
            kind, value = spread[seq]
            producer.produce(
                topic,
                value,
                key=kind.encode(),
                headers=[("kind", kind.encode())],
                partition=seq % 3,
            )
        if seq % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    return ids, dict(bad)


def _read_all(consumer: SpanConsumer) -> tuple[list[bytes], int]:
    """Span ids of everything delivered until caught up, and the DecodeErrors raised on the way."""
    delivered: list[bytes] = []
    raised = 0
    while not consumer.caught_up():
        try:
            batch = consumer.poll_batch(max_spans=2_000, timeout_s=IDLE_S)
        except DecodeError:
            raised += 1
            continue
        delivered.extend(record.span.span_id for record in batch)
        batch.ack()
    return delivered, raised


def _settings(bootstrap: str, **extra: object) -> dict[str, object]:
    return {
        "bootstrap_servers": bootstrap,
        "group_id": f"g-{uuid.uuid4().hex[:10]}",
        "start": "earliest",
        **extra,
    }


@pytest.mark.parametrize("policy", ["skip", "raise", "dead-letter"])
def test_every_good_span_arrives_once_among_poison_of_every_size(
    kafka_bootstrap, kafka_admin, new_topic, poison, policy
):
    """A 2 MB poison and every other kind among 5,000 spans: each good span once, per policy."""
    topic = new_topic(partitions=3, config=TOPIC_LIMIT)
    dlq = f"{topic}-dlq"
    ids, bad = _seed(kafka_bootstrap, topic, poison)
    extra = {"bad_records": policy}
    if policy == "dead-letter":
        extra["dead_letter_topic"] = dlq
    try:
        with SpanConsumer(topic, **_settings(kafka_bootstrap, **extra)) as consumer:
            delivered, raised = _read_all(consumer)
            stats = consumer.stats()
        assert len(delivered) == len(set(delivered)) == GOOD
        assert set(delivered) == ids
        assert stats.bad_records == len(bad)
        if policy == "raise":
            assert raised == len(bad)
        if policy == "dead-letter":
            assert stats.dead_lettered == len(bad)
            assert stats.dead_letter_metadata_only == 0
            copies = {m.key(): m for m in read_topic(kafka_bootstrap, dlq)}
            assert sorted(copies) == sorted(kind.encode() for kind in bad)
            assert copies[b"two-megabytes"].value() == bad["two-megabytes"]
            assert dict(copies[b"two-megabytes"].headers())[DLQ_TOPIC_HEADER] == topic.encode()
    finally:
        kafka_admin.delete_topics([dlq], operation_timeout=30)


def test_a_record_too_large_for_the_dead_letter_topic_leaves_its_metadata(
    kafka_bootstrap, new_topic, poison
):
    """A DLQ that cannot hold the 2 MB record gets a metadata-only copy; reading goes on."""
    topic = new_topic(partitions=3, config=TOPIC_LIMIT)
    dlq = new_topic(partitions=1)  # Kafka's default limit, about 1 MB
    ids, bad = _seed(kafka_bootstrap, topic, poison)
    settings = _settings(kafka_bootstrap, bad_records="dead-letter", dead_letter_topic=dlq)
    with SpanConsumer(topic, **settings) as consumer:
        delivered, _ = _read_all(consumer)
        stats = consumer.stats()
    assert sorted(delivered) == sorted(ids)
    assert stats.dead_lettered == len(bad)
    assert stats.dead_letter_metadata_only == 1
    copies = read_topic(kafka_bootstrap, dlq)
    assert len(copies) == len(bad)
    (meta,) = [m for m in copies if DLQ_OMITTED_HEADER in dict(m.headers())]
    headers = dict(meta.headers())
    big = bad["two-megabytes"]
    assert big is not None
    assert meta.value() is None
    assert headers[DLQ_OMITTED_HEADER] == b"MSG_SIZE_TOO_LARGE"
    assert headers[DLQ_VALUE_BYTES_HEADER] == str(BIG_BYTES).encode()
    assert headers[DLQ_VALUE_SHA256_HEADER] == hashlib.sha256(big).hexdigest().encode()
    assert headers[DLQ_REASON_HEADER] == b"bad-marker"
    assert headers[DLQ_TOPIC_HEADER] == topic.encode()
    assert int(headers[DLQ_OFFSET_HEADER]) >= 0


def test_a_dead_letter_topic_that_refuses_every_record_does_not_stop_reading(
    kafka_bootstrap, new_topic, poison
):
    """When not even the metadata fits, the record is counted dropped and reading goes on."""
    topic = new_topic(partitions=3, config=TOPIC_LIMIT)
    dlq = new_topic(partitions=1, config={"max.message.bytes": "64"})
    ids, bad = _seed(kafka_bootstrap, topic, poison)
    settings = _settings(kafka_bootstrap, bad_records="dead-letter", dead_letter_topic=dlq)
    with SpanConsumer(topic, **settings) as consumer:
        delivered, _ = _read_all(consumer)
        stats = consumer.stats()
    assert sorted(delivered) == sorted(ids)
    assert stats.bad_records == len(bad)
    assert stats.dead_letter_dropped + stats.dead_lettered == len(bad)
    assert stats.dead_letter_dropped >= 1
    assert Counter(m.topic() for m in read_topic(kafka_bootstrap, dlq)) == Counter(
        {dlq: stats.dead_lettered} if stats.dead_lettered else {}
    )
