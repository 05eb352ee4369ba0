"""Kafka for the read commands: which address, whether it answers, and a topic's offset range."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from spanstream.broker import BOOTSTRAP_ENV, LocalKafka
from spanstream.broker._docker import COMPOSE_BOOTSTRAP_SERVERS, docker_answers
from spanstream.broker._obtain import BrokerSource, choose_broker_source
from spanstream.cli._exit import BrokerUnreachableError, CliError, UsageError
from spanstream.consumer import READER_MANAGED_KEYS
from spanstream.kafka import is_secret_key
from spanstream.kafka import scrub as scrub_secrets

__all__ = [
    "RDKAFKA_LOG",
    "BrokerAddress",
    "check_reachable",
    "check_topic",
    "default_broker_address",
    "how_to_start",
    "is_secret_key",
    "parse_properties",
    "scrub",
]

RDKAFKA_LOG: Final = logging.getLogger("spanstream.cli.rdkafka")
"""Where librdkafka's own log lines go: not the terminal (the commands report errors once)."""
RDKAFKA_LOG.addHandler(logging.NullHandler())
RDKAFKA_LOG.propagate = False

_HOW_TO_START: Final = (
    "start one with `spanstream broker start` (or `./run broker start`), or point at yours "
    f"with --bootstrap-servers / ${BOOTSTRAP_ENV}"
)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """A ``bootstrap.servers`` value and where it came from (for error messages)."""

    bootstrap_servers: str
    origin: str


def default_broker_address(given: str | None) -> BrokerAddress:
    """The address to read from.

    The option (or ``$KAFKA_BOOTSTRAP_SERVERS``), else the broker ``spanstream broker start``
    runs (Docker's compose service or the local one).

    Nothing is started: reading commands only look.
    """
    if given and given.strip():
        origin = (
            f"${BOOTSTRAP_ENV}"
            if os.environ.get(BOOTSTRAP_ENV, "").strip() == given.strip()
            else "--bootstrap-servers"
        )
        return BrokerAddress(given.strip(), origin)
    source = choose_broker_source(os.environ, docker_answers=docker_answers)
    if source is BrokerSource.DOCKER:
        return BrokerAddress(COMPOSE_BOOTSTRAP_SERVERS, "the Docker compose broker's address")
    return BrokerAddress(LocalKafka().bootstrap_servers, "the local broker's address")


def how_to_start(command: str) -> str:
    """How to start a broker or point a command at one (the demo has no --bootstrap-servers)."""
    if command == "demo":
        return (
            "start one with `spanstream broker start` (or `./run broker start`), or point the "
            f"demo at yours with ${BOOTSTRAP_ENV} or bootstrap.servers in its --config file"
        )
    return _HOW_TO_START


def _admin_config(address: BrokerAddress, properties: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "socket.timeout.ms": 5000,
        **(properties or {}),
        "bootstrap.servers": address.bootstrap_servers,
    }


def check_reachable(
    address: BrokerAddress,
    *,
    timeout_s: float = 5.0,
    properties: Mapping[str, str] | None = None,
    command: str = "read",
) -> frozenset[str]:
    """Ask the cluster for its metadata once; returns the names of its topics.

    Raises:
        BrokerUnreachableError: nothing answered within ``timeout_s``; the message names the
            address, where it came from, and how to start a broker (for ``command``).
        UsageError: a ``-X`` property librdkafka does not accept (secrets scrubbed).
    """
    try:
        admin = AdminClient(_admin_config(address, properties), logger=RDKAFKA_LOG)
    except (KafkaException, ValueError, TypeError) as exc:
        error = exc.args[0] if exc.args else None
        text = str(error.str()) if isinstance(error, KafkaError) else str(exc)
        scrubbed = scrub(text, properties)
        # As the producer does: the cause is kept only when it shows no credential.
        raise UsageError(f"-X: {scrubbed}") from (exc if scrubbed == text else None)
    try:
        return frozenset(admin.list_topics(timeout=timeout_s).topics)
    except KafkaException as exc:
        raise BrokerUnreachableError(
            f"no Kafka broker answers at {address.bootstrap_servers} ({address.origin}) within "
            f"{timeout_s:g} s; {how_to_start(command)}"
        ) from exc


def check_topic(
    address: BrokerAddress, topic: str, *, properties: Mapping[str, str] | None = None
) -> None:
    """Check that ``topic`` exists.

    Raises:
        CliError: it does not; the message lists the topics there are.
        BrokerUnreachableError: nothing answered.
    """
    topics = check_reachable(address, properties=properties)
    if topic not in topics:
        raise CliError(
            f"topic {topic!r} does not exist on {address.bootstrap_servers} "
            f"(topics there: {_topic_list(topics)})"
        )


def _topic_list(topics: frozenset[str]) -> str:
    names = sorted(t for t in topics if t[:2] != "__")
    if not names:
        return "none"
    shown = ", ".join(names[:8])
    return shown + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def parse_properties(texts: Sequence[str]) -> dict[str, str]:
    """Parse ``-X key=value`` client properties (kcat's option).

    Raises:
        UsageError: a property without ``=``, or one the command sets itself; the message
            never shows a value.
    """
    properties: dict[str, str] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            shown = "***" if is_secret_key(text) else repr(text)
            raise UsageError(f"-X: {shown} is not key=value (e.g. -X security.protocol=SSL)")
        if key in READER_MANAGED_KEYS:
            raise UsageError(
                f"-X: {key} is set by the command itself (use --bootstrap-servers for the address)"
            )
        properties[key] = value
    return properties


def scrub(text: str, properties: Mapping[str, object] | None) -> str:
    """``text`` with the value of every credential-like property replaced by ``***``."""
    return scrub_secrets(text, properties or {})
