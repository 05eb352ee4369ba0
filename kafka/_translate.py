"""librdkafka's complaints about a configuration, as ConfigErrors that show no secret.

librdkafka validates a client's properties when the client is created, and says what it
refuses in text (``No such configuration property: "x"``, ``Invalid value "y" for configuration
property "z"``). :func:`client_config_error` finds the property it names (through the aliases
librdkafka reports by their canonical name), and builds the ConfigError with the user's full
key, the value (``***`` for a secret) and librdkafka's words, secrets scrubbed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from confluent_kafka import KafkaError

from spanstream.kafka._keys import CALLBACK_KEYS, closest_key
from spanstream.kafka._secrets import redact, scrub
from spanstream.schemas import ConfigError

__all__ = ["client_config_error", "kafka_error_text", "property_in_message"]

_PROPERTY_IN_MESSAGE: Final = re.compile(
    r"""property:? ["`']?([A-Za-z0-9._-]+)|`([A-Za-z0-9._-]+)`"""
)
_NO_SUCH_PROPERTY: Final = re.compile(r"no such configuration property", re.IGNORECASE)
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
    "sasl.mechanisms": ("sasl.mechanism",),
    "sasl.mechanism": ("sasl.mechanisms",),
    "batch.num.messages": (),
}


def kafka_error_text(exc: BaseException) -> str:
    """The text of a confluent-kafka exception (its KafkaError's, when it carries one)."""
    error = exc.args[0] if exc.args else None
    if isinstance(error, KafkaError):
        return str(error.str())
    return str(exc)


def property_in_message(text: str, config: Mapping[str, object]) -> str | None:
    """The key of ``config`` that librdkafka's ``text`` complains about, or ``None``."""
    match = _PROPERTY_IN_MESSAGE.search(text)
    prop = (match.group(1) or match.group(2)) if match else None
    if prop is None:
        return None
    if prop not in config:
        prop = next((alias for alias in _ALIASES.get(prop, ()) if alias in config), prop)
    return prop if prop in config else None


def client_config_error(
    exc: BaseException,
    config: Mapping[str, object],
    *,
    full_key: Callable[[str], str],
    known: Iterable[str],
    fallback_key: str,
    client: str,
) -> ConfigError:
    """The ConfigError for librdkafka refusing ``config`` with ``exc``; no secret shows in it.

    Args:
        exc: what creating the client raised.
        config: the properties the client was given.
        full_key: how the user wrote a property (``"config['x']"``, ``"traces...producer.x"``).
        known: the property names the client accepts (for "did you mean").
        fallback_key: the key to name when librdkafka's text names no given property.
        client: ``"consumer"`` or ``"producer"``, for the message.
    """
    text = scrub(kafka_error_text(exc), config)
    prop = property_in_message(text, config)
    if prop is None:
        return ConfigError(
            fallback_key,
            sorted(config),
            f"librdkafka {client} properties it accepts ({text})",
        )
    value = redact(prop, config[prop])
    if _NO_SUCH_PROPERTY.search(text):
        suggestion = closest_key(prop, [*known, *CALLBACK_KEYS])
        hint = f"did you mean `{suggestion}`?" if suggestion else text
        return ConfigError(full_key(prop), value, f"a known librdkafka {client} property ({hint})")
    return ConfigError(full_key(prop), value, f"a value librdkafka accepts ({text})")
