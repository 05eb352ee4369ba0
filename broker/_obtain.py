"""Obtaining a Kafka broker: the environment's, Docker's, or a local one started from Maven jars."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from spanstream.broker import _docker
from spanstream.broker._local import LocalKafka
from spanstream.schemas import ConfigError

__all__ = [
    "BOOTSTRAP_ENV",
    "BROKER_CHOICE_ENV",
    "Broker",
    "BrokerSource",
    "choose_broker_source",
    "obtain_broker",
]

BOOTSTRAP_ENV = "KAFKA_BOOTSTRAP_SERVERS"
"""When set, spanstream uses this Kafka cluster and starts nothing."""

BROKER_CHOICE_ENV = "SPANSTREAM_BROKER"
"""``auto`` (default), ``docker`` or ``local``: skip detection and take that path."""


class BrokerSource(Enum):
    """Where a broker came from, in the order they are tried."""

    ENV = "env"
    """``$KAFKA_BOOTSTRAP_SERVERS``."""
    DOCKER = "docker"
    """A Docker engine: the compose service, or testcontainers' container in tests."""
    LOCAL = "local"
    """Apache Kafka from Maven Central, run by :class:`LocalKafka` under the state folder."""


def choose_broker_source(
    env: Mapping[str, str], *, docker_answers: Callable[[], bool]
) -> BrokerSource:
    """Decide where the broker comes from: the environment variable, Docker, or a local one.

    ``docker_answers`` is only called when the choice depends on it.

    Example:
        >>> choose_broker_source({"KAFKA_BOOTSTRAP_SERVERS": "k:9092"}, docker_answers=lambda: True)
        <BrokerSource.ENV: 'env'>
    """
    if env.get(BOOTSTRAP_ENV, "").strip():
        return BrokerSource.ENV
    choice = env.get(BROKER_CHOICE_ENV, "auto").strip().lower() or "auto"
    if choice == "local":
        return BrokerSource.LOCAL
    if choice == "docker":
        return BrokerSource.DOCKER
    if choice != "auto":
        raise ConfigError(BROKER_CHOICE_ENV, choice, "one of auto, docker, local")
    return BrokerSource.DOCKER if docker_answers() else BrokerSource.LOCAL


@dataclass(frozen=True, slots=True)
class Broker:
    """A Kafka cluster to talk to, and whether obtaining it started anything.

    Attributes:
        bootstrap_servers: the ``bootstrap.servers`` value for clients.
        source: where it came from.
        started_here: this handle started it (so :meth:`stop` may stop it).
        local: the :class:`LocalKafka` handle on the local path, else None.
    """

    bootstrap_servers: str
    source: BrokerSource
    started_here: bool
    local: LocalKafka | None = None
    _stopper: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def stop(self) -> None:
        """Give the broker back: stop it if this handle started it and nobody else uses it.

        A broker given by the environment, or found running, is left alone; a local broker
        that another live process obtained meanwhile (a second test session) is left running.
        """
        if self._stopper is not None:
            self._stopper()


def obtain_broker(
    *,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    use_testcontainers: bool = False,
    timeout_s: float = 180.0,
) -> Broker:
    """Find or start a Kafka broker, in this order.

    1. ``$KAFKA_BOOTSTRAP_SERVERS`` is set: use it, start nothing.
    2. A Docker engine answers ``docker info``: the ``apache/kafka`` service of
       ``docker-compose.yml`` on ``localhost:9092`` (or, with ``use_testcontainers``,
       testcontainers' Kafka container in KRaft mode, as the tests do).
    3. Otherwise a single-node :class:`LocalKafka` from Maven Central jars under the state
       folder, reused when it is already running.

    ``$SPANSTREAM_BROKER=local|docker`` skips the detection. Call :meth:`Broker.stop` when done.

    Raises:
        BrokerError: the chosen path could not provide a broker; the message says why.
    """
    environ = os.environ if env is None else env
    source = choose_broker_source(environ, docker_answers=_docker.docker_answers)
    if source is BrokerSource.ENV:
        return Broker(environ[BOOTSTRAP_ENV].strip(), source, started_here=False)
    if source is BrokerSource.DOCKER:
        if use_testcontainers:
            bootstrap, stop_container = _docker.start_test_container()
            return Broker(bootstrap, source, started_here=True, _stopper=stop_container)
        if _docker.compose_service_running():
            return Broker(_docker.COMPOSE_BOOTSTRAP_SERVERS, source, started_here=False)
        _docker.compose_up(timeout_s=timeout_s)
        return Broker(
            _docker.COMPOSE_BOOTSTRAP_SERVERS,
            source,
            started_here=True,
            _stopper=_docker.compose_down,
        )
    kafka = LocalKafka(state_dir)
    kafka.acquire_lease()
    try:
        started = kafka.start(timeout_s=timeout_s)
        if started:
            kafka.claim_ownership()
        else:
            # A broker left behind by a session that died without stopping it is ours now.
            started = kafka.adopt_if_orphaned()
    except BaseException:
        kafka.release_lease(stop_if_last=False)
        raise

    def give_back() -> None:
        kafka.release_lease(stop_if_last=started)

    return Broker(
        kafka.bootstrap_servers, source, started_here=started, local=kafka, _stopper=give_back
    )
