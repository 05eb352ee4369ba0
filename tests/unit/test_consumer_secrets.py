"""No secret in any message of the consumer and its dead-letter producer (issue #12, item 3).

A canary password goes through every failure path of the configuration (an unknown key, a bad
value, a managed key, a producer property, a secret key with a bad value) on both clients, and
through librdkafka's log and error callbacks while the broker cannot be reached: it appears in
no error, cause chain, repr, log line or stats.
"""

from __future__ import annotations

import logging
import traceback

import pytest

from spanstream.consumer import SpanConsumer
from spanstream.schemas import ConfigError

CANARY = "canary-Pa55w0rd-7f3e"
NOWHERE = "127.0.0.1:9"
SASL = {
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "PLAIN",
    "sasl.username": "alice",
    "sasl.password": CANARY,
}


def _rendered(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + repr(error.args)


def _consumer(**kwargs: object) -> SpanConsumer:
    settings = {"bootstrap_servers": NOWHERE, "group_id": "g"} | kwargs
    return SpanConsumer("spans", **settings)  # type: ignore[arg-type]


FAILING = {
    "dead_letter_config: unknown key": {
        "bad_records": "dead-letter",
        "dead_letter_topic": "dlq",
        "dead_letter_config": {"sasl.password": CANARY, "bogus.key": 1},
    },
    "dead_letter_config: bad value": {
        "bad_records": "dead-letter",
        "dead_letter_topic": "dlq",
        "dead_letter_config": {"sasl.password": CANARY, "security.protocol": "bogus"},
    },
    "dead_letter_config: a consumer property": {
        "bad_records": "dead-letter",
        "dead_letter_topic": "dlq",
        "dead_letter_config": {"sasl.password": CANARY, "session.timeout.ms": 1},
    },
    "dead_letter_config: the secret itself refused": {
        "bad_records": "dead-letter",
        "dead_letter_topic": "dlq",
        "dead_letter_config": {"sasl.password": {"nested": CANARY}},
    },
    "config: unknown key": {"config": {**SASL, "bogus.key": 1}},
    "config: misspelled key": {"config": {**SASL, "sesion.timeout.ms": 1}},
    "config: bad value": {"config": {**SASL, "security.protocol": "bogus"}},
    "config: managed key": {"config": {**SASL, "enable.auto.commit": False}},
    "config: a producer property": {"config": {**SASL, "linger.ms": 5}},
    "config: the secret itself refused": {"config": {"sasl.password": [CANARY]}},
    "config: secret under another name": {"config": {"ssl.key.password": CANARY, "x y": 1}},
    "config: connection settings refused by the dead-letter producer": {
        "config": {**SASL, "sasl.kerberos.min.time.before.relogin": -5},
        "bad_records": "dead-letter",
        "dead_letter_topic": "dlq",
    },
}


@pytest.mark.parametrize("settings", FAILING.values(), ids=FAILING.keys())
def test_no_configuration_error_shows_the_password(settings):
    """Every configuration failure is a ConfigError without the canary, cause chain included."""
    with pytest.raises(ConfigError) as info:
        _consumer(**settings).close()
    assert CANARY not in _rendered(info.value)
    assert CANARY not in str(info.value.value)


def test_the_reproduced_case_names_the_key_and_no_password():
    """The issue's case: dead_letter_config with a password and a bogus key names the key."""
    with pytest.raises(ConfigError) as info:
        _consumer(
            bad_records="dead-letter",
            dead_letter_topic="dlq",
            dead_letter_config={"sasl.password": CANARY, "bogus.key": 1},
        )
    assert info.value.key == "dead_letter_config['bogus.key']"
    assert CANARY not in str(info.value)


def test_no_log_line_repr_or_stats_shows_the_password(caplog):
    """With librdkafka's debug logs on and no broker answering, nothing shows the canary."""
    caplog.set_level(logging.DEBUG)
    consumer = _consumer(
        config={**SASL, "debug": "security,broker,conf", "reconnect.backoff.ms": 10},
        bad_records="dead-letter",
        dead_letter_topic="dlq",
        dead_letter_config={"debug": "security,broker,conf"},
        broker_timeout_s=None,
    )
    try:
        for _ in range(3):
            consumer.poll_batch(timeout_s=0.5)
        seen = repr(consumer) + repr(consumer.stats())
    finally:
        consumer.close()
    assert caplog.records, "librdkafka logged nothing: the test would prove nothing"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert CANARY not in logged
    assert CANARY not in seen
