"""A topic seeded with 10% poison: every good span delivered once, every bad record counted or
dead-lettered, and the consumer never stops.

30,000 good spans interleaved with 3,000 hostile records of every kind (random bytes,
truncations, forged huge lengths, wrong fingerprints, valid Avro of another schema with its own
and with the span schema's fingerprint, the Confluent framing, empty values and tombstones,
random mutations that no longer decode). Read with the ``skip`` policy and with the
``dead-letter`` policy.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from _helpers import read_topic
from _topics import create_topic, delete_topics
from confluent_kafka.admin import AdminClient

from spanstream.consumer import DLQ_REASON_HEADER, BadRecordPolicy, SpanConsumer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GOOD = 30_000
BAD = 3_000
IDLE_S = 15.0


@pytest.fixture(scope="module")
def poison(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("poison")


@pytest.fixture(scope="module")
def poisoned_topic(
    kafka_bootstrap: str, kafka_admin: AdminClient, poison: ModuleType
) -> Iterator[tuple[str, str, Counter[str]]]:
    """The topic (3 partitions) with GOOD spans and BAD poison records interleaved at random."""
    topic = create_topic(kafka_admin, f"poison-{uuid.uuid4().hex[:8]}", partitions=3)
    run_id, kinds = poison.seed_topic(kafka_bootstrap, topic, good=GOOD, bad=BAD)
    assert set(kinds) == set(poison.KINDS)
    try:
        yield topic, run_id, kinds
    finally:
        delete_topics(kafka_admin, [topic])


def _read(
    bootstrap: str, topic: str, run_id: str, **options: object
) -> tuple[Counter[int], SpanConsumer]:
    seqs: Counter[int] = Counter()
    consumer = SpanConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"poison-{uuid.uuid4().hex[:8]}",
        start="earliest",
        **options,  # type: ignore[arg-type]
    )
    with consumer:
        for record in consumer.iter_records(idle_timeout_s=IDLE_S):
            assert record.span.attributes["run"] == run_id
            seqs[record.span.attributes["seq"]] += 1  # type: ignore[index]
    return seqs, consumer


def test_skip_policy_delivers_every_good_span_once_and_counts_every_bad_record(
    kafka_bootstrap, poisoned_topic
):
    """Skip: 30,000 spans once each; 3,000 bad records counted by reason; never stopped."""
    topic, run_id, kinds = poisoned_topic
    seqs, consumer = _read(kafka_bootstrap, topic, run_id, bad_records=BadRecordPolicy.SKIP)
    stats = consumer.stats()
    print(json.dumps({"kinds": kinds, "by_reason": dict(stats.bad_records_by_reason)}))
    assert set(seqs) == set(range(GOOD))
    assert all(count == 1 for count in seqs.values())
    assert stats.spans_delivered == GOOD
    assert stats.bad_records == BAD
    assert stats.records_consumed == GOOD + BAD


def test_dead_letter_policy_moves_every_bad_record_and_delivers_every_good_span(
    kafka_bootstrap, kafka_admin, poisoned_topic
):
    """Dead-letter: 30,000 spans once each; the 3,000 bad records on the dead-letter topic, each
    with its reason header; never stopped."""
    topic, run_id, kinds = poisoned_topic
    dead = create_topic(kafka_admin, f"poison-dlq-{uuid.uuid4().hex[:8]}", partitions=1)
    try:
        seqs, consumer = _read(
            kafka_bootstrap,
            topic,
            run_id,
            bad_records=BadRecordPolicy.DEAD_LETTER,
            dead_letter_topic=dead,
        )
        stats = consumer.stats()
        assert set(seqs) == set(range(GOOD))
        assert all(count == 1 for count in seqs.values())
        assert stats.spans_delivered == GOOD
        assert stats.bad_records == BAD
        assert stats.dead_lettered == BAD
        dead_kinds: Counter[str] = Counter()
        reasons = 0
        for message in read_topic(kafka_bootstrap, dead):
            headers = dict(message.headers() or [])
            dead_kinds[headers["kind"].decode()] += 1
            reasons += DLQ_REASON_HEADER in headers
        assert dead_kinds == kinds
        assert reasons == BAD
    finally:
        delete_topics(kafka_admin, [dead])
