"""Topic administration for the Kafka reporters: the topic exists, and its size limit.

Before the first record, a reporter makes sure its topic exists: it asks the broker for the
topic's metadata, creates the topic when it is missing and ``topic.create`` is on, and learns
the topic's ``max.message.bytes``, the largest record the broker will take. The broker's
refusals become :class:`TopicMissingError` and :class:`TopicRejectedError`; the reporter
decides whether they are configuration errors (at ``open``) or reasons to keep waiting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Final

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # not re-exported for typing
from confluent_kafka.cimpl import NewTopic  # typed here; confluent_kafka.admin does not export it

from spanstream.kafka import CONNECTION_KEY_PREFIXES, LibrdkafkaLog
from spanstream.producer._kafka_config import KafkaReporterConfig

__all__ = ["TopicAdmin", "TopicMissingError", "TopicRejectedError", "TopicState"]

_REJECTIONS: Final = frozenset(
    {
        KafkaError.INVALID_PARTITIONS,
        KafkaError.INVALID_REPLICATION_FACTOR,
        KafkaError.INVALID_REPLICA_ASSIGNMENT,
        KafkaError.INVALID_CONFIG,
        KafkaError.POLICY_VIOLATION,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    }
)


class TopicMissingError(Exception):
    """The topic does not exist and ``topic.create`` is off."""


class TopicRejectedError(Exception):
    """The broker refused to create the topic (bad partitions, replication factor, policy)."""


class TopicState(Enum):
    """What the broker's metadata says of the topic."""

    READY = "ready"
    """It exists and every partition has a leader."""
    MISSING = "missing"
    """The broker says it does not exist."""
    NOT_READY = "not-ready"
    """It exists, but a partition has no leader yet (or the metadata has another error)."""
    UNREACHABLE = "unreachable"
    """No broker answered in time."""


class TopicAdmin:
    """Checks, creates and measures one reporter's topic.

    Args:
        config: the reporter's settings (topic, ``topic.*`` keys).
        producer_conf: the producer's librdkafka properties; the admin client shares its
            connection and security settings.
        log: the reporter's logger; ``label`` names the reporter in its lines.
    """

    __slots__ = ("_admin_client", "_config", "_label", "_log", "_producer_conf")

    def __init__(
        self,
        config: KafkaReporterConfig,
        producer_conf: Mapping[str, object],
        log: logging.Logger,
        label: str,
    ) -> None:
        self._config = config
        self._producer_conf = producer_conf
        self._log = log
        self._label = label
        self._admin_client: AdminClient | None = None

    def prepare(
        self, producer: Producer, deadline: float, stopping: Callable[[], bool]
    ) -> int | None:
        """Make sure the topic exists (creating it if configured) and learn its size limit.

        Returns:
            The topic's ``max.message.bytes`` (``0`` when it could not be learned) once the
            topic is ready; ``None`` when the deadline passed (or ``stopping()``) first.

        Raises:
            TopicMissingError: the broker says the topic does not exist and may not be created.
            TopicRejectedError: the broker refused to create it.
        """
        config = self._config
        pause_s = 0.05
        while not stopping():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            state = self.state(producer, min(remaining, 0.5))
            if state is TopicState.READY:
                return self._topic_max_bytes(min(max(deadline - time.monotonic(), 0.5), 5.0))
            if state is TopicState.MISSING:
                if not config.topic_create:
                    raise TopicMissingError(config.topic)
                self._create(min(max(deadline - time.monotonic(), 0.1), 10.0))
            time.sleep(max(0.0, min(pause_s, deadline - time.monotonic())))
            pause_s = min(pause_s * 2, 0.5)
        return None

    def state(self, producer: Producer, timeout_s: float) -> TopicState:
        """What the broker's metadata says of the topic, asked through ``producer``."""
        topic_name = self._config.topic
        try:
            topics = producer.list_topics(topic_name, timeout=timeout_s).topics
        except KafkaException:
            return TopicState.UNREACHABLE
        topic = topics.get(topic_name)
        if topic is None:
            return TopicState.UNREACHABLE
        if topic.error is not None:
            if topic.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return TopicState.MISSING
            return TopicState.NOT_READY
        if not topic.partitions or any(p.leader < 0 for p in topic.partitions.values()):
            return TopicState.NOT_READY
        return TopicState.READY

    def close(self) -> None:
        """Let go of the admin client (it has no ``close``; its threads end when collected)."""
        self._admin_client = None

    def _admin(self) -> AdminClient:
        if self._admin_client is None:
            conf: dict[str, object] = {
                key: value
                for key, value in self._producer_conf.items()
                if key.startswith(CONNECTION_KEY_PREFIXES)
            }
            conf["logger"] = LibrdkafkaLog(
                logging.getLogger(self._log.name + ".librdkafka"), config=conf
            )
            self._admin_client = AdminClient(conf)  # type: ignore[arg-type]  # logger is allowed
        return self._admin_client

    def _create(self, timeout_s: float) -> None:
        config = self._config
        new_topic = NewTopic(
            config.topic,
            num_partitions=config.topic_partitions,
            replication_factor=config.topic_replication_factor,
        )
        try:
            futures = self._admin().create_topics(
                [new_topic], operation_timeout=timeout_s, request_timeout=timeout_s
            )
            futures[config.topic].result(timeout=timeout_s)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and error.code() in _REJECTIONS:
                raise TopicRejectedError(error.str()) from exc
            # TOPIC_ALREADY_EXISTS (a race with another creator), or a timeout: look again.
            return
        except Exception:  # noqa: BLE001 - a timeout or a broker going away: look again
            return
        self._log.info("%s %r created topic %r", self._label, config.name, config.topic)

    def _topic_max_bytes(self, timeout_s: float) -> int:
        """The topic's ``max.message.bytes``, or 0 (the limit is a refinement)."""
        resource = ConfigResource(ConfigResource.Type.TOPIC, self._config.topic)
        try:
            futures = self._admin().describe_configs([resource], request_timeout=timeout_s)
            entries = futures[resource].result(timeout=timeout_s)
            return int(entries["max.message.bytes"].value)
        except Exception:  # noqa: BLE001 - the configured limit stands
            return 0
