"""Reliability on a dedicated single broker (its own ports and folder; never the session one).

Outage: the only broker down for 10 s while spans keep coming at 5,000/s (the script: 30 s).
For each overflow policy: the hand-off queue and librdkafka's backlog never exceed
``queue.max.spans``, RSS growth stays within the configured bound, the spans dropped are exactly
those counted ``queue-full`` and sit where the policy says, and everything still queued arrives
once the broker is back.

Process death: a reporting process (``benchmarks/reliability/reporting_child.py``, with
``close_on_exit``) given SIGTERM delivers everything it held before it exits; given SIGKILL it
loses exactly the spans its last report showed pending, and nothing else.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from spanstream.broker import LocalKafka, default_state_dir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

QUEUE_MAX_SPANS = 10_000
# The sender holds at most one batch of spans taken from the queue while librdkafka is full.
SENDER_BATCH_SPANS = 2048


@pytest.fixture(scope="module")
def outage(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("outage")


@pytest.fixture(scope="module")
def chaos(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("_chaos")


@pytest.fixture(scope="module")
def single_broker(chaos: ModuleType) -> Iterator[LocalKafka]:
    kafka = chaos.private_kafka(default_state_dir(), name=f"test-outage-{uuid.uuid4().hex[:8]}")
    try:
        kafka.start(timeout_s=180)
        yield kafka
    finally:
        kafka.stop()
        kafka.remove_data()


@pytest.mark.parametrize("policy", ["drop-newest", "drop-oldest"])
def test_a_ten_second_outage_at_five_thousand_spans_a_second(outage, single_broker, policy):
    """Bounded queues and memory, drops exactly counted and placed by the policy, the rest
    delivered once after recovery."""
    figures = outage.run_outage(
        single_broker,
        policy=policy,
        outage_s=10.0,
        rate_per_s=5_000,
        queue_max_spans=QUEUE_MAX_SPANS,
    )
    print(figures.to_json())
    extra = figures.extra
    # Every span has an outcome and the counters agree with the topic.
    assert extra["pending_after_flush"] == 0
    assert extra["notified"] == figures.sent
    assert figures.failed == {}
    assert figures.duplicated == 0
    assert figures.lost == 0
    assert figures.delivered == figures.read_back
    # The overflow policy dropped exactly the spans that never arrived, and counted them.
    assert set(figures.dropped) == {"queue-full"}
    assert figures.dropped["queue-full"] == figures.sent - figures.read_back
    assert figures.dropped["queue-full"] == extra["missing_count"]
    # Memory within the configured bound.
    assert extra["max_queued"] <= QUEUE_MAX_SPANS
    assert extra["max_in_flight"] <= QUEUE_MAX_SPANS
    assert extra["rss_growth_bytes"] <= extra["memory_bound_bytes"]
    # Where the drops fall: drop-newest keeps the first spans reported after the broker went
    # down (the queue's worth at least); drop-oldest evicts from the oldest queued ones.
    if policy == "drop-newest":
        assert extra["missing_min"] >= extra["sent_at_kill"] + QUEUE_MAX_SPANS
    else:
        assert extra["sent_at_kill"] <= extra["missing_min"]
        assert extra["missing_min"] <= extra["sent_at_kill"] + QUEUE_MAX_SPANS + SENDER_BATCH_SPANS


# -- process death ------------------------------------------------------------------------------


def _topic(kafka: LocalKafka) -> str:
    name = f"death-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, 3, 1)], operation_timeout=60)[name].result(timeout=60)
    return name


def test_sigterm_closes_the_registry_and_delivers_everything_before_exit(
    outage, chaos, single_broker, tmp_path
):
    """50,000 spans reported at once, held by a 2 s linger; SIGTERM: exit status 143, close
    returned 0 pending, and all 50,000 are on the topic once."""
    topic = _topic(single_broker)
    child = chaos.ChildProcess(
        single_broker.bootstrap_servers, topic, tmp_path / "child.err", "producer.linger.ms=2000"
    )
    try:
        ready = child.until("ready")
        child.send("publish 50000")
        published = child.until("published")
        child.process.send_signal(signal.SIGTERM)
        assert child.process.wait(timeout=120) == 128 + signal.SIGTERM
        (final,) = [line for line in child.rest() if line["event"] == "exit"]
    finally:
        child.close()
    assert published["notified"] == 50_000
    assert published["pending"] > 0  # there was something to flush when the signal came
    assert final["close_pending"] == 0
    assert final["pending"] == 0
    assert final["dropped"] == {}
    assert final["delivered"] == 50_000
    read = chaos.read_back(single_broker.bootstrap_servers, topic, run_id=ready["run"])
    assert read.distinct == 50_000
    assert read.duplicated == 0


def test_sigkill_loses_exactly_the_spans_last_reported_pending(
    outage, chaos, single_broker, tmp_path
):
    """5,000 spans delivered, then the broker goes down and 3,000 more wait; SIGKILL: the topic
    holds the 5,000, and the count lost equals the pending count last reported."""
    topic = _topic(single_broker)
    child = chaos.ChildProcess(single_broker.bootstrap_servers, topic, tmp_path / "child.err")
    try:
        ready = child.until("ready")
        child.send("publish 5000")
        child.send("flush")
        flushed = child.until("flushed")
        assert flushed["flush_pending"] == 0
        single_broker.kill_node(1)
        child.send("publish 3000")
        child.until("published")
        child.send("watch")
        previous: dict = {}
        while True:  # wait until the counters are still: nothing more can change them
            line = child.until("watch")
            if line["notified"] == 8_000 and {**line, "time": 0} == {**previous, "time": 0}:
                break
            previous = line
        child.process.send_signal(signal.SIGKILL)
        assert child.process.wait(timeout=60) == -signal.SIGKILL
    finally:
        child.close()
        chaos.start_node_retrying(single_broker, 1)
    last = line
    read = chaos.read_back(single_broker.bootstrap_servers, topic, run_id=ready["run"])
    lost = last["notified"] - read.distinct
    assert read.duplicated == 0
    assert read.distinct == last["delivered"] == 5_000
    assert lost == last["pending"] == last["queued"] + last["in_flight"] == 3_000
