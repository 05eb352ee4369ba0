"""Hostile input through the Kafka reporter: counted drops, and never an undecodable record.

What the builder refuses is covered by ``tests/unit/test_hostile_input.py``. Here the values
that reach the reporter (10 MB strings, 100,000 children, hand-made spans outside the contract,
trees too deep to build, the configurable ``span.max.*`` limits) end as documented: delivered,
or dropped and counted (``too-large``, ``encode-error``), or counted by the registry; and every
record on the topic decodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType

import pytest
from _spans import chain, hand_made_span

from spanstream.schemas import Span

TEN_MB = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def chaos(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("_chaos")


def test_hostile_spans_are_delivered_or_counted_and_every_record_decodes(
    chaos, kafka_bootstrap, new_topic
):
    """Good spans (NaN and infinities included) arrive; the rest is counted by reason."""
    topic = new_topic(partitions=1)
    registry, reporter = chaos.reporter_registry(kafka_bootstrap, topic)
    group = registry.root_group()
    try:
        for i in range(100):
            group.add_span(Span.builder("s", "good").set_attribute("i", i))
        group.add_span(
            Span.builder("s", "special-doubles")
            .set_attribute("nan", math.nan)
            .set_attribute("inf", math.inf)
            .set_attribute("-inf", -math.inf)
        )
        # Over record.max.bytes (1 MB): dropped too-large.
        group.add_span(Span.builder("s", "ten-mb").set_attribute("blob", "x" * TEN_MB))
        group.add_span(
            Span.builder("s", "wide").add_children(Span.builder("s", "c") for _ in range(100_000))
        )
        # Outside the contract, made by hand: the encoder refuses them, dropped encode-error.
        deep = hand_made_span()
        for _ in range(10_000):
            deep = hand_made_span(children=(deep,))
        for span in (
            deep,
            hand_made_span(attributes={"k": [1, 2]}),
            hand_made_span(attributes={1: "int key"}),
            hand_made_span(start_ts_millis=2**64),
            hand_made_span(attributes={"k": "\ud800"}),
        ):
            group.add_span(span)
        # Too deep to build: the registry counts the failure; the reporter never sees it.
        group.add_span(chain(10_000))
        assert reporter.flush(60) == 0
        stats = reporter.snapshot()
        failures = registry.stats()["kafka"].failures
    finally:
        registry.close()
    assert stats.delivered == 101
    assert stats.failed_total == 0
    assert dict(stats.dropped) == {"too-large": 2, "encode-error": 5}
    assert stats.notified == 101 + 2 + 5
    assert failures == 1
    read = chaos.read_back(kafka_bootstrap, topic)
    assert read.records == 101
    assert read.bad_records == 0


def test_span_max_limits_drop_what_breaks_them_as_too_large(chaos, kafka_bootstrap, new_topic):
    """span.max.depth / children / attribute.value.bytes: breaking spans dropped too-large."""
    topic = new_topic(partitions=1)
    registry, reporter = chaos.reporter_registry(
        kafka_bootstrap,
        topic,
        **{
            "span.max.depth": "8",
            "span.max.children": "1000",
            "span.max.attribute.value.bytes": "1024",
        },
    )
    group = registry.root_group()
    try:
        group.add_span(
            Span.builder("s", "within")
            .set_attribute("v", "x" * 1024)
            .add_children(Span.builder("s", "c") for _ in range(999))
            .add_child(chain(7))  # the 1,000th child: 8 levels below the root
        )
        group.add_span(Span.builder("s", "long-value").set_attribute("v", "x" * 1025))
        group.add_span(
            Span.builder("s", "wide").add_children(Span.builder("s", "c") for _ in range(1001))
        )
        group.add_span(chain(9))
        assert reporter.flush(60) == 0
        stats = reporter.snapshot()
    finally:
        registry.close()
    assert stats.delivered == 1
    assert dict(stats.dropped) == {"too-large": 3}
    read = chaos.read_back(kafka_bootstrap, topic)
    assert read.records == 1
    assert read.bad_records == 0
