"""The Kafka trace reporter's configuration: parsed and validated once, when the reporter opens.

Every key lives under ``traces.reporter.<name>.``; the table in the README ("Kafka reporter
configuration") lists each key, its default and its meaning. Keys under ``producer.`` are handed
to librdkafka unchanged (after the reporter's own defaults), so any producer property can be set;
librdkafka validates them when the producer is created, and the reporter turns its complaint into
a :class:`~spanstream.schemas.ConfigError` naming the full key.

Values of credential-like keys (``sasl.password``, ``ssl.key.password``, ...) never appear in a
``repr``, a log line or an error message: see :func:`spanstream.kafka.is_secret_key`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from spanstream.kafka import is_secret_key, redact
from spanstream.producer._config import MetricConfig
from spanstream.schemas import ConfigError

__all__ = [
    "BOOTSTRAP_SERVERS_ENV",
    "DEFAULT_COMPRESSION",
    "DEFAULT_EVENT_TOPIC",
    "DEFAULT_TOPIC",
    "HEADER_NAMES",
    "KEY_STRATEGIES",
    "OVERFLOW_POLICIES",
    "REPORTER_KEYS",
    "RESERVED_PRODUCER_KEYS",
    "KafkaReporterConfig",
    "KeyStrategy",
    "OverflowPolicy",
    "is_secret_key",
    "redact",
]

DEFAULT_TOPIC: Final = "flink-traces"
"""Where the trace reporter publishes spans unless ``topic`` says otherwise."""

DEFAULT_EVENT_TOPIC: Final = "flink-events"
"""Where the event reporter publishes events: a topic of their own, as Flink keeps the two
apart (one consumer can still read both, dispatching by schema fingerprint)."""

BOOTSTRAP_SERVERS_ENV: Final = "KAFKA_BOOTSTRAP_SERVERS"
"""The environment variable that gives ``bootstrap.servers`` when the configuration does not."""

DEFAULT_COMPRESSION: Final = "lz4"
"""Chosen by measurement on the real broker (``benchmarks/kafka_compression.py``, figures in
the README): of none/lz4/zstd/snappy/gzip, lz4 let librdkafka produce the most records per
second, with a tenth of the bytes of ``none`` on the wire; the reporter's own rate is bound by
Python (building and encoding spans), whatever the codec but gzip."""

KeyStrategy = Literal["job-id", "trace-id", "attribute", "none"]
KEY_STRATEGIES: Final = ("job-id", "trace-id", "attribute:<name>", "none")

OverflowPolicy = Literal["drop-newest", "drop-oldest"]
OVERFLOW_POLICIES: Final = ("drop-newest", "drop-oldest")

HEADER_NAMES: Final = ("content-type", "schema-fingerprint", "producer")
"""The headers the reporter can put on every record (``headers`` key); all of them by default."""

# Keys the reporter owns: a callback cannot come from a configuration file, the bootstrap
# servers have their own key, and the reporter counts deliveries from error-only reports.
RESERVED_PRODUCER_KEYS: Final = frozenset(
    {
        "bootstrap.servers",
        "delivery.report.only.error",
        "dr_cb",
        "dr_msg_cb",
        "error_cb",
        "logger",
        "oauth_cb",
        "on_delivery",
        "stats_cb",
        "throttle_cb",
        "transactional.id",
    }
)

REPORTER_KEYS: Final = (
    frozenset(
        {
            "bootstrap.servers",
            "close.timeout.s",
            "flush.timeout.s",
            "headers",
            "headers.additional",
            "key",
            "open.timeout.s",
            "queue.max.bytes",
            "queue.max.spans",
            "queue.overflow.policy",
            "record.max.bytes",
            "topic",
            "topic.create",
            "topic.partitions",
            "topic.replication.factor",
        }
    ),
    ("producer.",),
)
"""The reporter's own keys (:meth:`KafkaReporterConfig.from_metric_config` reads each) and the
prefix whose keys go to librdkafka unchecked: what the factory declares (``reporter_keys``),
so that the registry rejects any other key."""

_TOPIC_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,249}")
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9._-]{1,255}")
_MAX_INT32: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class KafkaReporterConfig:
    """The validated settings of one Kafka trace reporter.

    Build one with :meth:`from_metric_config`; every bad value raises
    :class:`~spanstream.schemas.ConfigError` naming the full key, the value and what is accepted.
    The ``repr`` shows the names of the librdkafka properties, never their values.

    Example:
        >>> config = KafkaReporterConfig.from_metric_config(
        ...     MetricConfig(
        ...         {"bootstrap.servers": "127.0.0.1:9092", "key": "attribute:tenant"},
        ...         prefix="traces.reporter.kafka.",
        ...     )
        ... )
        >>> config.topic, config.key_strategy, config.key_attribute
        ('flink-traces', 'attribute', 'tenant')
    """

    name: str
    """The reporter's name in ``traces.reporter.<name>.``."""
    prefix: str
    """``traces.reporter.<name>.``: makes a key here a full configuration key."""
    bootstrap_servers: str
    topic: str = DEFAULT_TOPIC
    key_strategy: KeyStrategy = "job-id"
    key_attribute: str | None = None
    """The attribute named by ``key: attribute:<name>`` (``None`` for the other strategies)."""
    headers: tuple[str, ...] = HEADER_NAMES
    additional_headers: tuple[tuple[str, str], ...] = ()
    queue_max_spans: int = 100_000
    queue_max_bytes: int = 64 * 1024 * 1024
    overflow_policy: OverflowPolicy = "drop-newest"
    record_max_bytes: int = 1_000_000
    topic_create: bool = True
    topic_partitions: int = 3
    topic_replication_factor: int = -1
    open_timeout_s: float = 5.0
    flush_timeout_s: float = 30.0
    close_timeout_s: float = 10.0
    producer: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The librdkafka properties given under ``producer.`` (without the reporter's defaults)."""

    def __repr__(self) -> str:
        # The producer properties may hold credentials: show their names only.
        return (
            f"KafkaReporterConfig(name={self.name!r}, "
            f"bootstrap_servers={self.bootstrap_servers!r}, topic={self.topic!r}, "
            f"key={self.key_text!r}, queue_max_spans={self.queue_max_spans}, "
            f"queue_max_bytes={self.queue_max_bytes}, overflow_policy={self.overflow_policy!r}, "
            f"record_max_bytes={self.record_max_bytes}, topic_create={self.topic_create}, "
            f"producer_keys={sorted(self.producer)})"
        )

    @property
    def key_text(self) -> str:
        """The ``key`` setting as it is written in the configuration."""
        if self.key_strategy == "attribute":
            return f"attribute:{self.key_attribute}"
        return self.key_strategy

    def full_key(self, key: str) -> str:
        """Return ``key`` with this reporter's prefix."""
        return self.prefix + key

    @classmethod
    def from_metric_config(
        cls, config: MetricConfig, *, default_topic: str = DEFAULT_TOPIC
    ) -> KafkaReporterConfig:
        """Validate a reporter's parameters (``traces.reporter.<name>.*``, prefix removed).

        The event reporter's live under ``events.reporter.<name>.*``, with ``default_topic``
        :data:`DEFAULT_EVENT_TOPIC`; the keys and their meaning are the same.

        Raises:
            ConfigError: a value is missing, malformed or out of range.
        """
        servers = _parse_servers(config)
        topic = config.get_str("topic", default_topic)
        if not _TOPIC_NAME.fullmatch(topic) or topic in {".", ".."}:
            raise ConfigError(
                config.full_key("topic"),
                topic,
                "a Kafka topic name: 1 to 249 of letters, digits, '.', '_' and '-'",
            )
        strategy, attribute = _parse_key(config)
        queue_max_spans = config.get_int("queue.max.spans", 100_000, minimum=1, maximum=_MAX_INT32)
        queue_max_bytes = config.get_int(
            "queue.max.bytes", 64 * 1024 * 1024, minimum=1024, maximum=2**41
        )
        overflow = config.get_choice("queue.overflow.policy", "drop-newest", OVERFLOW_POLICIES)
        replication = config.get_int("topic.replication.factor", -1, minimum=-1, maximum=32767)
        if replication == 0:
            raise ConfigError(
                config.full_key("topic.replication.factor"),
                config.get("topic.replication.factor"),
                "-1 (the broker's default.replication.factor) or at least 1",
            )
        return cls(
            name=_reporter_name(config.prefix),
            prefix=config.prefix,
            headers=_parse_headers(config),
            additional_headers=_parse_additional_headers(config),
            bootstrap_servers=servers,
            topic=topic,
            key_strategy=strategy,
            key_attribute=attribute,
            queue_max_spans=queue_max_spans,
            queue_max_bytes=queue_max_bytes,
            overflow_policy="drop-oldest" if overflow == "drop-oldest" else "drop-newest",
            record_max_bytes=config.get_int(
                "record.max.bytes", 1_000_000, minimum=1024, maximum=_MAX_INT32 - 65_536
            ),
            topic_create=config.get_bool("topic.create", default=True),
            topic_partitions=config.get_int("topic.partitions", 3, minimum=1, maximum=1_000_000),
            topic_replication_factor=replication,
            open_timeout_s=config.get_float("open.timeout.s", 5.0, minimum=0.0, maximum=3600.0),
            flush_timeout_s=config.get_float("flush.timeout.s", 30.0, minimum=0.0),
            close_timeout_s=config.get_float("close.timeout.s", 10.0, minimum=0.0),
            producer=MappingProxyType(_parse_producer(config)),
        )


def _reporter_name(prefix: str) -> str:
    """The reporter's name in its prefix (``traces.reporter.<name>.``), ``kafka`` if none."""
    name = prefix.removeprefix("traces.reporter.").removeprefix("events.reporter.")
    return name.rstrip(".") or "kafka"


def _parse_servers(config: MetricConfig) -> str:
    """``bootstrap.servers``, else ``producer.bootstrap.servers``, else the environment's."""
    servers = config.get_str("bootstrap.servers", "").strip()
    if not servers:
        servers = config.get_str("producer.bootstrap.servers", "").strip()
    if not servers:
        servers = os.environ.get(BOOTSTRAP_SERVERS_ENV, "").strip()
        if not servers:
            raise ConfigError(
                config.full_key("bootstrap.servers"),
                config.get("bootstrap.servers"),
                f"a comma-separated list of host:port (required unless ${BOOTSTRAP_SERVERS_ENV}"
                " is set)",
            )
    return servers


def _parse_key(config: MetricConfig) -> tuple[KeyStrategy, str | None]:
    text = config.get_str("key", "job-id").strip()
    lowered = text.lower()
    if lowered in {"job-id", "trace-id", "none"}:
        strategy: KeyStrategy = (
            "job-id" if lowered == "job-id" else "trace-id" if lowered == "trace-id" else "none"
        )
        return strategy, None
    if lowered.startswith("attribute:") and text[len("attribute:") :].strip():
        return "attribute", text[len("attribute:") :].strip()
    raise ConfigError(config.full_key("key"), text, "one of " + ", ".join(KEY_STRATEGIES))


def _parse_headers(config: MetricConfig) -> tuple[str, ...]:
    text = config.get_str("headers", ",".join(HEADER_NAMES)).strip()
    if text.lower() == "none" or not text:
        return ()
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    for part in names:
        if part not in HEADER_NAMES:
            raise ConfigError(
                config.full_key("headers"),
                text,
                "'none' or a comma-separated list of " + ", ".join(HEADER_NAMES),
            )
    return tuple(dict.fromkeys(names))


def _parse_additional_headers(config: MetricConfig) -> tuple[tuple[str, str], ...]:
    text = config.get_str("headers.additional", "").strip()
    if not text:
        return ()
    pairs: list[tuple[str, str]] = []
    for part in text.split(","):
        key, sep, value = part.partition(":")
        key = key.strip()
        if not sep or not _HEADER_NAME.fullmatch(key):
            raise ConfigError(
                config.full_key("headers.additional"),
                text,
                "a comma-separated list of name:value (names of letters, digits, '.', '_', '-')",
            )
        pairs.append((key, value.strip()))
    return tuple(pairs)


def _property_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_producer(config: MetricConfig) -> dict[str, str]:
    properties: dict[str, str] = {}
    for key, value in config.subset("producer.").items():
        full = config.full_key("producer." + key)
        if key in RESERVED_PRODUCER_KEYS:
            if key == "bootstrap.servers":
                continue  # read above, as a fallback for the top-level key
            raise ConfigError(
                full,
                redact(key, value),
                "no value: the reporter sets this property itself",
            )
        if not key or isinstance(value, Mapping | list | tuple | set) or value is None:
            raise ConfigError(full, redact(key, value), "a librdkafka producer property value")
        properties[key] = _property_text(value)
    return properties
