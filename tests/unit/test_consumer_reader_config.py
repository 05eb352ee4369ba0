"""SpanReader's configuration is checked when it is built, without a broker."""

from __future__ import annotations

import datetime as dt

import pytest

from spanstream.consumer import READER_MANAGED_KEYS, SpanReader, read_spans
from spanstream.schemas import ConfigError

CANARY = "CANARY-reader-pa55"


@pytest.mark.parametrize("key", sorted(READER_MANAGED_KEYS))
def test_managed_keys_are_rejected(key):
    """group.id, enable.auto.commit, ... are the reader's own: passing one is a ConfigError."""
    with pytest.raises(ConfigError, match="the reader sets this key itself"):
        SpanReader("t", bootstrap_servers="127.0.0.1:1", config={key: "x"})


@pytest.mark.parametrize(
    "start",
    ["beginning", True, -5, dt.datetime(2024, 1, 1)],
)
def test_bad_start_is_a_config_error(start):
    """start takes earliest, latest, an aware datetime or epoch ms; anything else is refused."""
    with pytest.raises(ConfigError, match="start"):
        SpanReader("t", bootstrap_servers="127.0.0.1:1", start=start)


def test_a_pattern_is_not_a_topic():
    """One topic name: a ^pattern is refused (a SpanConsumer subscribes to patterns)."""
    with pytest.raises(ConfigError, match="one topic name"):
        SpanReader("^flink-.*", bootstrap_servers="127.0.0.1:1")


def test_bad_property_error_shows_no_secret():
    """A property librdkafka refuses: the error names it and never shows a password."""
    config = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.password": CANARY,
        "sasl.mechanism": CANARY,
    }
    with pytest.raises(ConfigError) as caught:
        SpanReader("t", bootstrap_servers="127.0.0.1:1", config=config)
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None or CANARY not in str(caught.value.__cause__)


def test_read_spans_without_any_address_says_where_to_give_one(monkeypatch):
    """No bootstrap_servers and no $KAFKA_BOOTSTRAP_SERVERS: a ConfigError naming both."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ConfigError, match=r"\$KAFKA_BOOTSTRAP_SERVERS"):
        read_spans("t")


def test_read_spans_needs_since_before_until():
    """since at or after until is refused before anything is read."""
    with pytest.raises(ConfigError, match="until"):
        read_spans("t", since=2000, until=1000, bootstrap_servers="127.0.0.1:1")
