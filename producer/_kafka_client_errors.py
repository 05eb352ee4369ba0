"""The Kafka reporter's use of the shared client plumbing (``spanstream.kafka``).

librdkafka's complaints about the reporter's producer properties become ConfigErrors naming
the reporter's full key (``traces.reporter.<name>.producer.<property>``), with no secret in
them; librdkafka's own log lines go to ``spanstream.producer.kafka.librdkafka``, rate-limited.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from spanstream.kafka import PRODUCER_PROPERTIES, LibrdkafkaLog, client_config_error
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.schemas import ConfigError

__all__ = ["ProducerLibrdkafkaLog", "config_error"]

_LIBRDKAFKA_LOG: Final = logging.getLogger("spanstream.producer.kafka.librdkafka")


class ProducerLibrdkafkaLog(LibrdkafkaLog):
    """librdkafka's log of a reporter's clients, to ``spanstream.producer.kafka.librdkafka``.

    Rate-limited, with the secret values of ``config`` scrubbed (see
    :class:`spanstream.kafka.LibrdkafkaLog`).
    """

    __slots__ = ()

    def __init__(self, config: Mapping[str, object] | None = None) -> None:
        super().__init__(_LIBRDKAFKA_LOG, config=config)


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
