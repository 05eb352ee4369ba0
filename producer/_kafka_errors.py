"""Translating the Kafka client's complaints into ConfigErrors that name the key (never a secret).

librdkafka rejects a bad producer property when the producer is created, with a message that
names the property. The reporter turns that into a :class:`~spanstream.schemas.ConfigError`
naming the full key under ``<prefix>producer.``, through the shared plumbing
(:func:`spanstream.kafka.client_config_error`: aliases, scrubbing, "did you mean"); topic
problems the broker reports become ConfigErrors naming the topic keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from spanstream.kafka import PRODUCER_PROPERTIES, client_config_error
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.schemas import ConfigError

__all__ = ["config_error", "topic_missing_error", "topic_rejected_error"]


def config_error(
    config: KafkaReporterConfig, conf: Mapping[str, object], exc: BaseException
) -> ConfigError:
    """The ConfigError for librdkafka refusing the producer properties ``conf`` with ``exc``."""

    def full_key(prop: str) -> str:
        if prop == "bootstrap.servers":
            return config.full_key("bootstrap.servers")
        return config.full_key("producer." + prop)

    return client_config_error(
        exc,
        conf,
        full_key=full_key,
        known=PRODUCER_PROPERTIES,
        fallback_key=config.full_key("producer.*"),
        client="producer",
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
