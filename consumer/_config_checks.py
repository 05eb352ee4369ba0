"""The consumer's client configuration: checked, completed, and turned into Kafka clients.

Every key of ``config`` (the consumer's librdkafka properties) and ``dead_letter_config`` (the
dead-letter producer's) is either a property that client passes through to librdkafka, one of
confluent-kafka's callbacks, or a :class:`~spanstream.schemas.ConfigError` naming the key as the
user wrote it and the closest known key ("did you mean ..."). A producer property given to the
consumer (which librdkafka would ignore with a warning) is an error too, and the other way
round. No message shows a secret value (see ``spanstream.kafka``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from confluent_kafka import KafkaException

from spanstream.consumer._bad_records import BadRecordPolicy
from spanstream.consumer._broker_health import ErrorLog
from spanstream.consumer._dead_letter import DeadLetterSink
from spanstream.consumer._positions import StartPosition, to_epoch_ms
from spanstream.consumer._stats import ConsumerCounters
from spanstream.kafka import (
    CALLBACK_KEYS,
    CONSUMER_PROPERTIES,
    PRODUCER_PROPERTIES,
    LibrdkafkaLog,
    client_config_error,
    connection_settings,
    redact,
    safe_cause,
    unknown_key_error,
)
from spanstream.schemas import ConfigError

__all__ = [
    "BOOTSTRAP_ENV",
    "check_client_keys",
    "check_policy",
    "check_settings",
    "check_topics",
    "dead_letter_producer_config",
    "new_client",
    "open_dead_letter_sink",
    "resolve_bootstrap_servers",
    "start_position",
]

BOOTSTRAP_ENV: Final = "KAFKA_BOOTSTRAP_SERVERS"
"""The environment variable that gives the bootstrap servers when none are passed."""

_Client = TypeVar("_Client")
_TOPIC_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")
_DEAD_LETTER_LIBRDKAFKA_LOG: Final = logging.getLogger("spanstream.consumer.dead_letter.librdkafka")


def resolve_bootstrap_servers(bootstrap_servers: str | None) -> str:
    """``bootstrap_servers``, or ``$KAFKA_BOOTSTRAP_SERVERS`` when it is None.

    Raises:
        ConfigError: neither gives a ``host:port`` list.
    """
    servers = bootstrap_servers
    if servers is None:
        servers = os.environ.get(BOOTSTRAP_ENV)
        if servers is None:
            raise ConfigError(
                "bootstrap_servers",
                None,
                f"host:port[,host:port...], or ${BOOTSTRAP_ENV} set when it is not given",
            )
    if not isinstance(servers, str) or not servers.strip():
        raise ConfigError("bootstrap_servers", servers, "host:port[,host:port...]")
    return servers


def check_client_keys(
    config: Mapping[str, object], *, name: str, client: str, managed: frozenset[str]
) -> None:
    """Check the keys of one client's properties (``name`` is the parameter, e.g. ``config``).

    Raises:
        ConfigError: a key the consumer manages, or one of the other kind of client.
    """
    own, other, other_client = (
        (CONSUMER_PROPERTIES, PRODUCER_PROPERTIES, "producer")
        if client == "consumer"
        else (PRODUCER_PROPERTIES, CONSUMER_PROPERTIES, "consumer")
    )
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigError(name, sorted(map(str, config)), "property names (str)")
        full = f"{name}[{key!r}]"
        if key in managed:
            raise ConfigError(
                full,
                redact(key, value),
                "nothing: the consumer manages this key itself (see MANAGED_CONSUMER_KEYS)",
            )
        if key in CALLBACK_KEYS:
            continue
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(full, redact(key, value), "a str, int, float or bool")
        if key in own:
            continue
        if key in other:
            raise ConfigError(
                full,
                redact(key, value),
                f"a librdkafka {client} property (this one is a {other_client} property, "
                f"which a {client} ignores)",
            )
        if not _looks_like_property(key):
            raise unknown_key_error(full, key, value, own | CALLBACK_KEYS)
        # Otherwise librdkafka judges it (a newer librdkafka may know more properties).


def _looks_like_property(key: str) -> bool:
    """Librdkafka's property names are dotted lower case; anything else cannot be one."""
    return bool(key) and key == key.lower() and " " not in key and "_" not in key


def dead_letter_producer_config(
    *,
    bootstrap_servers: str,
    consumer_config: Mapping[str, object],
    dead_letter_config: Mapping[str, object] | None,
) -> dict[str, object]:
    """The dead-letter producer's properties: the consumer's connection settings, then its own."""
    config: dict[str, object] = {"bootstrap.servers": bootstrap_servers}
    config.update(connection_settings(consumer_config))
    config.update(dead_letter_config or {})
    return config


def new_client(
    factory: Callable[[dict[str, Any]], _Client],
    config: dict[str, Any],
    *,
    client: str,
    origin: Callable[[str], str],
) -> _Client:
    """Create a Kafka client; librdkafka's complaint becomes a ConfigError with no secret.

    ``origin`` names a property the way the user gave it (``config['x']``,
    ``dead_letter_config['x']``, ``bootstrap_servers``).
    """
    try:
        return factory(config)
    except (KafkaException, ValueError, TypeError) as exc:
        known = CONSUMER_PROPERTIES if client == "consumer" else PRODUCER_PROPERTIES
        plain = {key: value for key, value in config.items() if not callable(value)}
        raise client_config_error(
            exc,
            plain,
            full_key=origin,
            known=known,
            fallback_key="dead_letter_config" if client == "producer" else "config",
            client=client,
        ) from safe_cause(exc, config)


def open_dead_letter_sink(
    topic: str,
    *,
    counters: ConsumerCounters,
    bootstrap_servers: str,
    group_id: str,
    consumer_config: Mapping[str, object],
    dead_letter_config: Mapping[str, object] | None,
) -> DeadLetterSink:
    """The dead-letter producer: the consumer's connection settings, then its own.

    Raises:
        ConfigError: librdkafka refused a property (named as the user gave it).
    """
    producer_config = dead_letter_producer_config(
        bootstrap_servers=bootstrap_servers,
        consumer_config=consumer_config,
        dead_letter_config=dead_letter_config,
    )
    given = dict(dead_letter_config or {})

    def origin(key: str) -> str:
        if key in given:
            return f"dead_letter_config[{key!r}]"
        return "bootstrap_servers" if key == "bootstrap.servers" else f"config[{key!r}]"

    producer_config.setdefault(
        "logger", LibrdkafkaLog(_DEAD_LETTER_LIBRDKAFKA_LOG, config=producer_config)
    )
    producer_config.setdefault("error_cb", ErrorLog(counters, None, config=producer_config))
    return new_client(
        lambda config: DeadLetterSink(topic, config, group_id=group_id),
        producer_config,
        client="producer",
        origin=origin,
    )


def check_policy(
    bad_records: BadRecordPolicy | str, dead_letter_topic: str | None
) -> BadRecordPolicy:
    """The bad-record policy; ``dead-letter`` needs a dead-letter topic."""
    try:
        policy = BadRecordPolicy(bad_records)
    except ValueError as exc:
        raise ConfigError(
            "bad_records", bad_records, "one of " + ", ".join(p.value for p in BadRecordPolicy)
        ) from exc
    if policy is BadRecordPolicy.DEAD_LETTER and not dead_letter_topic:
        raise ConfigError(
            "dead_letter_topic", dead_letter_topic, "a topic name with bad_records=dead-letter"
        )
    if dead_letter_topic is not None and (
        not isinstance(dead_letter_topic, str)
        or not _TOPIC_NAME.fullmatch(dead_letter_topic)
        or dead_letter_topic in {".", ".."}
    ):
        raise ConfigError(
            "dead_letter_topic",
            dead_letter_topic,
            "a Kafka topic name: 1 to 249 of letters, digits, '.', '_' and '-'",
        )
    return policy


def check_settings(
    *,
    bootstrap_servers: str,
    group_id: str,
    duplicate_window: int,
    fetch_batch_size: int,
    poll_interval_s: float,
) -> None:
    """Check the consumer's plain parameters."""
    if not isinstance(bootstrap_servers, str) or not bootstrap_servers.strip():
        raise ConfigError("bootstrap_servers", bootstrap_servers, "host:port[,host:port...]")
    if not isinstance(group_id, str) or not group_id:
        raise ConfigError("group_id", group_id, "a non-empty consumer group id")
    if type(duplicate_window) is not int or duplicate_window < 0:
        raise ConfigError("duplicate_window", duplicate_window, "an int >= 0")
    if type(fetch_batch_size) is not int or not 1 <= fetch_batch_size <= 1_000_000:
        raise ConfigError("fetch_batch_size", fetch_batch_size, "an int in 1..1000000")
    if not isinstance(poll_interval_s, int | float) or not 0 < poll_interval_s <= 60:
        raise ConfigError("poll_interval_s", poll_interval_s, "seconds in (0, 60]")


def start_position(start: StartPosition) -> tuple[str, int | None]:
    """Return librdkafka's ``auto.offset.reset`` and the start time in epoch ms, if any."""
    if start in ("earliest", "latest"):
        return str(start), None
    if isinstance(start, dt.datetime | int) and not isinstance(start, bool):
        # A partition with no record at or after the time starts at its end.
        return "latest", to_epoch_ms(start, key="start")
    raise ConfigError(
        "start", start, "'earliest', 'latest', an aware datetime or epoch milliseconds"
    )


def check_topics(topics: str | Sequence[str]) -> tuple[str, ...]:
    """The topic names and ``^`` patterns (each pattern must compile)."""
    names = (topics,) if isinstance(topics, str) else tuple(topics)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ConfigError("topics", topics, "one or more topic names or ^regex patterns")
    for name in names:
        if name.startswith("^"):
            try:
                re.compile(name)
            except re.error as exc:
                raise ConfigError("topics", name, f"a valid regular expression ({exc})") from exc
    return names
