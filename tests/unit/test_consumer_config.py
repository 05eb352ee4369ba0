"""SpanConsumer validates its configuration before it touches the network."""

import datetime as dt
import logging

import pytest

from spanstream.consumer import MANAGED_CONSUMER_KEYS, SpanConsumer
from spanstream.consumer._positions import to_epoch_ms
from spanstream.schemas import ConfigError

# Nothing listens here: construction must fail (or succeed) without a broker.
NOWHERE = "127.0.0.1:9"


def _consumer(**kwargs):
    settings = {"bootstrap_servers": NOWHERE, "group_id": "g"} | kwargs
    return SpanConsumer("spans", **settings)


@pytest.mark.parametrize("key", sorted(MANAGED_CONSUMER_KEYS))
def test_managed_keys_are_rejected(key):
    """Passing a key the consumer manages (e.g. enable.auto.commit) is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _consumer(config={key: "x"})


def test_unknown_librdkafka_property_is_rejected():
    """An unknown librdkafka property fails fast with a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"no\.such\.property"):
        _consumer(config={"no.such.property": "1"})


def test_dead_letter_policy_needs_a_topic():
    """bad_records='dead-letter' without a dead_letter_topic is a ConfigError."""
    with pytest.raises(ConfigError, match="dead_letter_topic"):
        _consumer(bad_records="dead-letter")


def test_unknown_policy_is_rejected():
    """An unknown bad-record policy names the accepted ones."""
    with pytest.raises(ConfigError, match="skip, raise, dead-letter"):
        _consumer(bad_records="ignore")


@pytest.mark.parametrize("start", ["beginning", dt.datetime(2024, 1, 1), -5, True, 1.5])
def test_bad_start_positions_are_rejected(start):
    """Only earliest, latest, an aware datetime or epoch ms are start positions."""
    with pytest.raises(ConfigError, match="start"):
        _consumer(start=start)


@pytest.mark.parametrize("topics", [[], "", [""]])
def test_topics_must_be_given(topics):
    """An empty topic list or name is a ConfigError."""
    with pytest.raises(ConfigError, match="topics"):
        SpanConsumer(topics, bootstrap_servers=NOWHERE, group_id="g")


def test_bad_regex_subscription_is_rejected():
    """A ^pattern that does not compile is a ConfigError."""
    with pytest.raises(ConfigError, match="regular expression"):
        SpanConsumer("^spans-(", bootstrap_servers=NOWHERE, group_id="g")


def test_passthrough_property_is_accepted_and_close_is_idempotent():
    """A valid librdkafka property passes through; close() twice is fine."""
    consumer = _consumer(config={"session.timeout.ms": 10_000}, start="earliest")
    consumer.close()
    consumer.close()
    assert consumer.closed


def test_aware_datetime_converts_exactly_to_epoch_ms():
    """A timezone-aware datetime becomes exact epoch milliseconds."""
    when = dt.datetime(2026, 11, 25, 12, 0, 0, 123_000, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert to_epoch_ms(when, key="start") == 1_795_604_400_123


def test_client_errors_are_counted_and_logged_once_a_minute(caplog):
    """Client errors are all counted and passed on, and logged once a minute per kind."""
    from confluent_kafka import KafkaError

    from spanstream.consumer._broker_health import ErrorLog
    from spanstream.consumer._stats import ConsumerCounters

    caplog.set_level(logging.WARNING, logger="spanstream.consumer")  # whatever root says
    counters = ConsumerCounters()
    seen = []
    log = ErrorLog(counters, seen.append)
    for _ in range(50):
        log(KafkaError(KafkaError._TRANSPORT))
    log(KafkaError(KafkaError._ALL_BROKERS_DOWN))
    assert counters.kafka_errors == 51
    assert len(seen) == 51
    assert len([r for r in caplog.records if r.name == "spanstream.consumer"]) == 2


@pytest.mark.parametrize(
    ("config", "expected"),
    [({}, 10), ({"fetch.queue.backoff.ms": 250}, 250)],
)
def test_fetch_backoff_is_short_unless_configured(monkeypatch, config, expected):
    """librdkafka's 1 s fetch backoff (past 100,000 queued records) would stall a consumer that
    decodes as it reads: the consumer asks for 10 ms; the application's config wins."""
    from spanstream.consumer import LIBRDKAFKA_DEFAULTS
    from spanstream.consumer import _consumer as module

    seen = {}
    real = module.new_client

    def capture(factory, settings, **kwargs):
        seen.update(settings)
        return real(factory, settings, **kwargs)

    monkeypatch.setattr(module, "new_client", capture)
    _consumer(config=config).close()
    assert LIBRDKAFKA_DEFAULTS["fetch.queue.backoff.ms"] == 10
    assert seen["fetch.queue.backoff.ms"] == expected


@pytest.mark.parametrize(
    ("settings", "key", "suggestion"),
    [
        (
            {"config": {"sesion.timeout.ms": 6000}},
            "config['sesion.timeout.ms']",
            "session.timeout.ms",
        ),
        (
            {"config": {"auto.commit.intervall.ms": 5}},
            "config['auto.commit.intervall.ms']",
            "auto.commit.interval.ms",
        ),
        ({"config": {"Fetch.Min.Bytes": 1}}, "config['Fetch.Min.Bytes']", "fetch.min.bytes"),
        (
            {
                "bad_records": "dead-letter",
                "dead_letter_topic": "dlq",
                "dead_letter_config": {"lingr.ms": 5},
            },
            "dead_letter_config['lingr.ms']",
            "linger.ms",
        ),
    ],
)
def test_a_misspelled_key_names_the_full_key_and_the_closest_known_one(settings, key, suggestion):
    """A key neither the consumer's nor a client property is a ConfigError with "did you mean"."""
    with pytest.raises(ConfigError) as info:
        _consumer(**settings)
    assert info.value.key == key
    assert f"did you mean `{suggestion}`?" in info.value.expected


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"config": {"linger.ms": 5}}, "config['linger.ms']"),
        (
            {
                "bad_records": "dead-letter",
                "dead_letter_topic": "dlq",
                "dead_letter_config": {"group.instance.id": "x"},
            },
            "dead_letter_config['group.instance.id']",
        ),
    ],
)
def test_a_property_of_the_other_kind_of_client_is_an_error(settings, key):
    """librdkafka would ignore a producer property on a consumer (and back): it is refused."""
    with pytest.raises(ConfigError, match="property") as info:
        _consumer(**settings)
    assert info.value.key == key


def test_bootstrap_servers_come_from_the_environment_when_not_given(monkeypatch):
    """Without bootstrap_servers, $KAFKA_BOOTSTRAP_SERVERS is used; without either, ConfigError."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", NOWHERE)
    SpanConsumer("spans", group_id="g").close()
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    with pytest.raises(ConfigError, match="KAFKA_BOOTSTRAP_SERVERS") as info:
        SpanConsumer("spans", group_id="g")
    assert info.value.key == "bootstrap_servers"


@pytest.mark.parametrize("topic", ["bad topic name!", "", "a/b", "x" * 250])
def test_an_invalid_dead_letter_topic_is_a_config_error(topic):
    """A dead-letter topic name Kafka would refuse fails when the consumer is created."""
    with pytest.raises(ConfigError, match="dead_letter_topic"):
        _consumer(bad_records="dead-letter", dead_letter_topic=topic)
