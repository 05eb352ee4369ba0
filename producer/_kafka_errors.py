"""Translating the Kafka client's complaints into ConfigErrors that name the key (never a secret).

librdkafka rejects a bad producer property when the producer is created, with a message that
names the property (by its canonical name, which may be an alias of the one given). The
reporter turns that into a :class:`~spanstream.schemas.ConfigError` naming the full key under
``<prefix>producer.``; a credential in the message is replaced by ``***``, and an exception
whose message showed one is not kept as the cause.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from confluent_kafka import KafkaError

from spanstream.producer._kafka_config import KafkaReporterConfig, is_secret_key, redact
from spanstream.schemas import ConfigError

__all__ = ["config_error", "safe_cause", "scrub", "topic_missing_error", "topic_rejected_error"]

_PROPERTY_IN_MESSAGE: Final = re.compile(
    r"""property:? ["`']?([A-Za-z0-9._-]+)|`([A-Za-z0-9._-]+)`"""
)
# librdkafka names a property by its canonical name, which may be an alias of the one given.
_ALIASES: Final = {
    "queue.buffering.max.ms": ("linger.ms",),
    "linger.ms": ("queue.buffering.max.ms",),
    "compression.codec": ("compression.type",),
    "compression.type": ("compression.codec",),
    "request.required.acks": ("acks",),
    "acks": ("request.required.acks",),
    "message.send.max.retries": ("retries",),
    "retries": ("message.send.max.retries",),
    "message.timeout.ms": ("delivery.timeout.ms",),
    "delivery.timeout.ms": ("message.timeout.ms",),
    "max.in.flight.requests.per.connection": ("max.in.flight",),
    "max.in.flight": ("max.in.flight.requests.per.connection",),
    "metadata.broker.list": ("bootstrap.servers",),
    "batch.num.messages": (),
}


def scrub(text: str, conf: Mapping[str, object]) -> str:
    """Return ``text`` with the value of every credential-like key of ``conf`` as ``***``."""
    for key, value in conf.items():
        secret = str(value)
        if is_secret_key(key) and secret:
            text = text.replace(secret, "***")
    return text


def _message_of(exc: BaseException) -> str:
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError):
        return str(error.str())
    return str(exc)


def safe_cause(exc: BaseException, conf: Mapping[str, object]) -> BaseException | None:
    """``exc`` as the cause, unless its message shows a credential (then no cause at all)."""
    text = _message_of(exc)
    return exc if scrub(text, conf) == text else None


def config_error(
    config: KafkaReporterConfig, conf: Mapping[str, object], exc: BaseException
) -> ConfigError:
    """The ConfigError for librdkafka's refusal ``exc`` of the producer configuration ``conf``."""
    text = scrub(_message_of(exc), conf)
    match = _PROPERTY_IN_MESSAGE.search(text)
    prop = (match.group(1) or match.group(2)) if match else None
    if prop is not None and prop not in conf:
        prop = next((alias for alias in _ALIASES.get(prop, ()) if alias in conf), prop)
    if prop == "bootstrap.servers":
        return ConfigError(
            config.full_key("bootstrap.servers"), config.bootstrap_servers, f"host:port ({text})"
        )
    if prop is not None and prop in conf:
        return ConfigError(
            config.full_key("producer." + prop),
            redact(prop, conf[prop]),
            f"a value librdkafka accepts ({text})",
        )
    return ConfigError(
        config.full_key("producer.*"),
        sorted(config.producer),
        f"librdkafka producer properties it accepts ({text})",
    )


def topic_missing_error(config: KafkaReporterConfig) -> ConfigError:
    """The ConfigError for a topic the broker says does not exist, with ``topic.create`` off."""
    return ConfigError(
        config.full_key("topic"),
        config.topic,
        "an existing topic (the broker says it does not exist; set "
        f"{config.full_key('topic.create')}=true to create it)",
    )


def topic_rejected_error(config: KafkaReporterConfig, reason: str) -> ConfigError:
    """The ConfigError for a topic the broker refused to create as configured."""
    return ConfigError(
        config.full_key("topic.partitions"),
        config.topic_partitions,
        f"settings the broker accepts for a new topic ({reason}); see also "
        f"{config.full_key('topic.replication.factor')}={config.topic_replication_factor}",
    )
