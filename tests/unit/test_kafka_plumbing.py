"""The shared Kafka client plumbing (spanstream.kafka): scrubbing, log limiting, did-you-mean."""

from __future__ import annotations

import logging

from spanstream.kafka import (
    CONSUMER_PROPERTIES,
    PRODUCER_PROPERTIES,
    LibrdkafkaLog,
    closest_key,
    is_secret_key,
    redact,
    safe_cause,
    scrub,
)


def test_credential_keys_are_secret_and_redacted():
    """Passwords, secrets, JAAS and tokens are secret; other keys show their value."""
    for key in (
        "sasl.password",
        "ssl.key.password",
        "sasl.jaas.config",
        "sasl.oauthbearer.client.secret",
    ):
        assert is_secret_key(key)
        assert redact(key, "x") == "***"
    assert redact("sasl.username", "alice") == "alice"


def test_scrub_replaces_every_secret_value_in_a_text():
    """Each secret value of the configurations is replaced, the longest first."""
    text = "auth with hunter2 and hunter22 failed for alice"
    config = {"sasl.password": "hunter2", "ssl.key.password": "hunter22", "sasl.username": "alice"}
    assert scrub(text, config) == "auth with *** and *** failed for alice"


def test_a_cause_that_shows_a_secret_is_not_chained():
    """safe_cause drops an exception whose text quotes a secret value."""
    config = {"sasl.password": "hunter2"}
    assert safe_cause(ValueError("bad hunter2"), config) is None
    plain = ValueError("bad value")
    assert safe_cause(plain, config) is plain


def test_closest_key_suggests_the_likely_intended_property():
    """Misspellings and wrong case find the property; nonsense finds nothing."""
    assert closest_key("sesion.timeout.ms", CONSUMER_PROPERTIES) == "session.timeout.ms"
    assert closest_key("LINGER.MS", PRODUCER_PROPERTIES) == "linger.ms"
    assert closest_key("zzzz", CONSUMER_PROPERTIES) is None


def test_librdkafka_log_lets_one_line_per_facility_through_a_minute(caplog):
    """20 FAIL lines a second become one line; the next one says how many were held back."""
    caplog.set_level(logging.DEBUG, logger="test.librdkafka")
    log = LibrdkafkaLog(logging.getLogger("test.librdkafka"), config={"sasl.password": "hunter2"})
    for _ in range(20):
        log.log(logging.ERROR, "%s [%s] %s", "FAIL", "rdkafka#consumer-1", "connect failed hunter2")
    log.log(logging.INFO, "%s [%s] %s", "CONFWARN", "rdkafka#consumer-1", "warning")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "FAIL [rdkafka#consumer-1] connect failed ***",
        "CONFWARN [rdkafka#consumer-1] warning",
    ]
