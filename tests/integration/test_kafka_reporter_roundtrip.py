"""The Kafka trace reporter against the real broker: what add_span reports is what the topic holds.

Spans go through ``MetricGroup.add_span`` and the registry (``factory.class: kafka``), and are
read back with a plain confluent-kafka consumer and ``decode_span``. An in-memory reporter in
the same registry receives the very same built spans (same ids), so the comparison is exact.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator

import pytest
from _helpers import read_topic
from confluent_kafka.admin import AdminClient

from spanstream.producer import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
    InMemoryTraceReporter,
    KafkaTraceReporter,
    MetricConfig,
    ReporterRegistry,
)
from spanstream.schemas import SCHEMA_FINGERPRINT, ConfigError, Span, SpanBuilder, decode_span

NewTopic = Callable[..., str]


# -- helpers ------------------------------------------------------------------------------------


def pipeline_config(bootstrap: str, topic: str, **settings: object) -> dict[str, object]:
    config: dict[str, object] = {
        "traces.reporter.kafka.factory.class": "kafka",
        "traces.reporter.kafka.bootstrap.servers": bootstrap,
        "traces.reporter.kafka.topic": topic,
        "traces.reporter.kafka.topic.create": "false",
        "traces.reporter.mem.factory.class": "in_memory",
    }
    config.update({f"traces.reporter.kafka.{k}": v for k, v in settings.items()})
    return config


@pytest.fixture
def registry_for() -> Iterator[Callable[..., ReporterRegistry]]:
    made: list[ReporterRegistry] = []

    def make(bootstrap: str, topic: str, **settings: object) -> ReporterRegistry:
        registry = ReporterRegistry.from_config(pipeline_config(bootstrap, topic, **settings))
        made.append(registry)
        return registry

    yield make
    for registry in made:
        registry.close()


def kafka_of(registry: ReporterRegistry) -> KafkaTraceReporter:
    reporter = registry.reporter("kafka")
    assert isinstance(reporter, KafkaTraceReporter)
    return reporter


def memory_of(registry: ReporterRegistry) -> InMemoryTraceReporter:
    reporter = registry.reporter("mem")
    assert isinstance(reporter, InMemoryTraceReporter)
    return reporter


def varied_builder(i: int) -> SpanBuilder:
    """A span with attributes of every type and, for some, children and grandchildren."""
    builder = (
        Span.builder("org.example.Pipeline", f"Step{i % 13}")
        .set_start_ts_millis(1_700_000_000_000 + i)
        .set_end_ts_millis(1_700_000_000_000 + i + (i % 977))
        .set_attribute("index", i)
        .set_attribute("negative", -(i * 7919) - 1)
        .set_attribute("ratio", i / 7)
        .set_attribute("ok", i % 3 == 0)
        .set_attribute("label", f"step-{i}-\u00e9\u4e2d\U0001f680")
    )
    if i % 5 == 0:
        builder.set_attribute("big", 2**62 + i)
    if i % 11 == 0:
        builder.set_attribute("empty", "")
    if i % 10 == 0:
        for c in range(i % 4 + 1):
            child = Span.builder("org.example.Pipeline", f"Child{c}").set_attribute("c", c)
            if c == 0:
                child.add_child(
                    Span.builder("org.example.Pipeline", "Grandchild").set_attribute("g", i)
                )
            builder.add_child(child)
    return builder


# -- the round trip -----------------------------------------------------------------------------


@pytest.mark.slow
def test_100k_spans_arrive_exactly_once_in_order_with_headers(
    kafka_bootstrap: str, new_topic: NewTopic, registry_for: Callable[..., ReporterRegistry]
):
    """100,000 varied spans: every one arrives once, equal, per-key ordered, headed, counted."""
    count = 100_000
    jobs = 7
    topic = new_topic(partitions=3)
    registry = registry_for(kafka_bootstrap, topic, **{"queue.max.spans": count})
    groups = [
        registry.root_group(name="jobmanager", variables={"job_id": f"job-{j}", "host": "h1"})
        for j in range(jobs)
    ]
    groups.append(registry.root_group(name="taskmanager", variables={"host": "h2"}))  # no job id
    for i in range(count):
        groups[i % len(groups)].add_span(varied_builder(i))
    kafka = kafka_of(registry)
    assert kafka.flush(120) == 0

    sent = memory_of(registry).spans
    assert len(sent) == count
    records = read_topic(kafka_bootstrap, topic)
    assert len(records) == count  # nothing missing, nothing twice (every record on the topic)

    received = [decode_span(m.value()) for m in records]
    by_id = {s.span_id: s for s in received}
    assert len(by_id) == count
    for span in sent:
        assert by_id[span.span_id] == span

    # The key is the <job_id> scope variable, else the trace id; one key's spans keep the order
    # in which they were reported.
    expected_key = {
        s.span_id: (s.attributes.get("<job_id>") or s.trace_id.hex()).encode() for s in sent
    }
    order = {s.span_id: n for n, s in enumerate(sent)}
    per_key: dict[bytes, list[int]] = defaultdict(list)
    partition_of_key: dict[bytes, set[int]] = defaultdict(set)
    for msg, span in zip(records, received, strict=True):
        assert msg.key() == expected_key[span.span_id]
        per_key[msg.key()].append(order[span.span_id])
        partition_of_key[msg.key()].add(msg.partition())
    for key in (f"job-{j}".encode() for j in range(jobs)):
        assert per_key[key] == sorted(per_key[key])
        assert len(per_key[key]) > 10_000
        assert len(partition_of_key[key]) == 1

    for msg in records[:: count // 100]:
        headers = dict(msg.headers() or [])
        assert headers[HEADER_CONTENT_TYPE] == CONTENT_TYPE.encode()
        assert headers[HEADER_SCHEMA_FINGERPRINT] == SCHEMA_FINGERPRINT.hex().encode()
        assert headers[HEADER_PRODUCER].startswith(b"spanstream/")

    stats = kafka.snapshot()
    assert stats.accepted == stats.notified == count
    assert stats.delivered == count
    assert stats.delivered_bytes == sum(len(m.value()) for m in records)
    assert stats.failed == {}
    assert stats.dropped == {}
    assert (stats.pending, stats.queued, stats.in_flight) == (0, 0, 0)


def test_counters_agree_under_concurrent_callers(
    kafka_bootstrap: str, new_topic: NewTopic, registry_for: Callable[..., ReporterRegistry]
):
    """Four threads reporting at once: accepted == delivered == records on the topic."""
    topic = new_topic(partitions=3)
    registry = registry_for(kafka_bootstrap, topic)
    group = registry.root_group(variables={"job_id": "concurrent"})
    per_thread = 5_000
    start = threading.Barrier(4)

    def report(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            group.add_span(
                Span.builder("app.Worker", "Work").set_attribute("t", t).set_attribute("i", i)
            )

    threads = [threading.Thread(target=report, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kafka = kafka_of(registry)
    assert kafka.flush(120) == 0
    stats = kafka.snapshot()
    records = read_topic(kafka_bootstrap, topic)
    assert stats.notified == stats.accepted == stats.delivered == len(records) == 4 * per_thread
    assert stats.accepted == (
        stats.delivered + stats.failed_total + stats.dropped_after_accept + stats.pending
    )
    # Each thread's spans keep their order: one key, one partition.
    seen: dict[int, list[int]] = defaultdict(list)
    for msg in records:
        span = decode_span(msg.value())
        seen[span.attributes["t"]].append(span.attributes["i"])  # type: ignore[index]
    assert all(values == list(range(per_thread)) for values in seen.values())


# -- what does not fit --------------------------------------------------------------------------


def test_oversized_span_is_dropped_too_large_and_its_neighbours_arrive(
    kafka_bootstrap: str, new_topic: NewTopic, registry_for: Callable[..., ReporterRegistry]
):
    """A span beyond the topic's max.message.bytes is counted too-large, never a failed batch."""
    topic = new_topic(partitions=1, config={"max.message.bytes": "20000"})
    registry = registry_for(kafka_bootstrap, topic)
    group = registry.root_group(variables={"job_id": "sizes"})
    for i in range(500):
        builder = Span.builder("app.Job", "Step").set_attribute("i", i)
        if i == 250:
            builder.set_attribute("blob", "x" * 100_000)
        group.add_span(builder)
    kafka = kafka_of(registry)
    assert kafka.flush(60) == 0
    stats = kafka.snapshot()
    assert stats.dropped == {"too-large": 1}
    assert stats.failed == {}
    assert stats.delivered == 499
    values = [decode_span(m.value()).attributes["i"] for m in read_topic(kafka_bootstrap, topic)]
    assert values == [i for i in range(500) if i != 250]


def test_unencodable_value_is_dropped_encode_error_and_the_rest_arrive(
    kafka_bootstrap: str, new_topic: NewTopic
):
    """Something that is not a span is counted encode-error; the spans around it are delivered."""
    topic = new_topic(partitions=1)
    reporter = KafkaTraceReporter()
    reporter.open(
        MetricConfig(
            {"bootstrap.servers": kafka_bootstrap, "topic": topic, "topic.create": "false"},
            prefix="traces.reporter.kafka.",
        )
    )
    try:
        reporter.notify_of_added_span(Span.builder("app.Job", "Before").build())
        reporter.notify_of_added_span(object())  # type: ignore[arg-type]
        reporter.notify_of_added_span(Span.builder("app.Job", "After").build())
        assert reporter.flush(60) == 0
        stats = reporter.snapshot()
        assert stats.dropped == {"encode-error": 1}
        assert stats.delivered == 2
    finally:
        assert reporter.close(30) == 0
    names = [decode_span(m.value()).name for m in read_topic(kafka_bootstrap, topic)]
    assert names == ["Before", "After"]


# -- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [("none", None), ("attribute:tenant", b"acme"), ("attribute:rank", b"7")],
)
def test_key_strategy_on_the_wire(
    kafka_bootstrap: str,
    new_topic: NewTopic,
    registry_for: Callable[..., ReporterRegistry],
    key: str,
    expected: bytes | None,
):
    """The configured key strategy decides the record key."""
    topic = new_topic(partitions=1)
    registry = registry_for(kafka_bootstrap, topic, key=key)
    registry.root_group(variables={"job_id": "j"}).add_span(
        Span.builder("app.Job", "Step").set_attribute("tenant", "acme").set_attribute("rank", 7)
    )
    assert kafka_of(registry).flush(60) == 0
    (record,) = read_topic(kafka_bootstrap, topic)
    assert record.key() == expected


def test_headers_can_be_switched_off_and_added(
    kafka_bootstrap: str, new_topic: NewTopic, registry_for: Callable[..., ReporterRegistry]
):
    """``headers: none`` with ``headers.additional`` puts only the static headers on records."""
    topic = new_topic(partitions=1)
    registry = registry_for(
        kafka_bootstrap, topic, headers="none", **{"headers.additional": "env:ci"}
    )
    registry.root_group().add_span(Span.builder("app.Job", "Step"))
    assert kafka_of(registry).flush(60) == 0
    (record,) = read_topic(kafka_bootstrap, topic)
    assert record.headers() == [("env", b"ci")]


# -- the topic ----------------------------------------------------------------------------------


def _partitions(admin: AdminClient, topic: str) -> int:
    return len(admin.list_topics(topic, timeout=30).topics[topic].partitions)


def test_missing_topic_is_created_with_the_configured_partitions(
    kafka_bootstrap: str, kafka_admin: AdminClient
):
    """With topic.create, a missing topic is created (partitions as configured) and used."""
    topic = f"test-created-{uuid.uuid4().hex[:8]}"
    reporter = KafkaTraceReporter()
    reporter.open(
        MetricConfig(
            {
                "bootstrap.servers": kafka_bootstrap,
                "topic": topic,
                "topic.partitions": 4,
                "topic.replication.factor": 1,
                "open.timeout.s": 60,
            },
            prefix="traces.reporter.kafka.",
        )
    )
    try:
        assert _partitions(kafka_admin, topic) == 4
        reporter.notify_of_added_span(Span.builder("app.Job", "Step").build())
        assert reporter.flush(60) == 0
        assert reporter.snapshot().delivered == 1
    finally:
        reporter.close(30)
        kafka_admin.delete_topics([topic])[topic].result(60)


def test_missing_topic_without_create_fails_open_clearly(kafka_bootstrap: str):
    """With topic.create off, open() names the topic key and says it does not exist."""
    topic = f"test-missing-{uuid.uuid4().hex[:8]}"
    reporter = KafkaTraceReporter()
    with pytest.raises(ConfigError) as info:
        reporter.open(
            MetricConfig(
                {
                    "bootstrap.servers": kafka_bootstrap,
                    "topic": topic,
                    "topic.create": "false",
                    "open.timeout.s": 60,
                },
                prefix="traces.reporter.kafka.",
            )
        )
    assert info.value.key == "traces.reporter.kafka.topic"
    assert info.value.value == topic
    assert "does not exist" in info.value.expected
    reporter.notify_of_added_span(Span.builder("app.Job", "Step").build())
    assert reporter.snapshot().dropped == {"closed": 1}


def test_refused_topic_settings_fail_open(kafka_bootstrap: str):
    """A replication factor the broker cannot meet is a ConfigError at open."""
    reporter = KafkaTraceReporter()
    with pytest.raises(ConfigError, match="replication"):
        reporter.open(
            MetricConfig(
                {
                    "bootstrap.servers": kafka_bootstrap,
                    "topic": f"test-refused-{uuid.uuid4().hex[:8]}",
                    "topic.replication.factor": 5,
                    "open.timeout.s": 60,
                },
                prefix="traces.reporter.kafka.",
            )
        )


def test_close_delivers_what_is_queued(
    kafka_bootstrap: str, new_topic: NewTopic, registry_for: Callable[..., ReporterRegistry]
):
    """close() waits for the queued spans (within its deadline) and returns 0 when all arrived."""
    topic = new_topic(partitions=1)
    registry = registry_for(kafka_bootstrap, topic)
    group = registry.root_group()
    for i in range(2_000):
        group.add_span(Span.builder("app.Job", "Step").set_attribute("i", i))
    kafka = kafka_of(registry)
    assert kafka.close(60) == 0
    assert kafka.snapshot().delivered == 2_000
    assert len(read_topic(kafka_bootstrap, topic)) == 2_000


def test_spans_of_a_process_that_exits_without_close_are_delivered(
    kafka_bootstrap: str, new_topic: NewTopic
):
    """A process that reports and exits without closing still gets its spans to the topic."""
    topic = new_topic(partitions=1)
    script = textwrap.dedent(
        f"""
        from spanstream.producer import KafkaTraceReporter, MetricConfig
        from spanstream.schemas import Span

        reporter = KafkaTraceReporter()
        reporter.open(MetricConfig(
            {{"bootstrap.servers": "{kafka_bootstrap}", "topic": "{topic}",
              "topic.create": "false"}}
        ))
        for i in range(1000):
            span = Span.builder("app.Job", "Exit").set_attribute("i", i).build()
            reporter.notify_of_added_span(span)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    values = [decode_span(m.value()).attributes["i"] for m in read_topic(kafka_bootstrap, topic)]
    assert values == list(range(1000))
