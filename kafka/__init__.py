"""Kafka client plumbing that the producer and the consumer share (internal).

Secret scrubbing, the log rate limiter, librdkafka's configuration complaints translated into
:class:`~spanstream.schemas.ConfigError`, the connection keys two clients of one cluster share,
the property names librdkafka knows and a "did you mean" helper for misspelled keys.

Both ``spanstream.producer`` and ``spanstream.consumer`` may import this package; it imports
neither (only ``spanstream.schemas``, for the error types). It is not a user-facing API.
"""

from spanstream.kafka._keys import (
    CALLBACK_KEYS,
    CONNECTION_KEY_PREFIXES,
    closest_key,
    connection_settings,
    unknown_key_error,
)
from spanstream.kafka._librdkafka_properties import (
    COMMON_PROPERTIES,
    CONSUMER_PROPERTIES,
    PRODUCER_PROPERTIES,
)
from spanstream.kafka._log_limit import LOG_INTERVAL_S, LibrdkafkaLog, RateLimiter
from spanstream.kafka._secrets import (
    REDACTED,
    is_secret_key,
    redact,
    redact_config,
    safe_cause,
    scrub,
)
from spanstream.kafka._translate import client_config_error, kafka_error_text, property_in_message

__all__ = [
    "CALLBACK_KEYS",
    "COMMON_PROPERTIES",
    "CONNECTION_KEY_PREFIXES",
    "CONSUMER_PROPERTIES",
    "LOG_INTERVAL_S",
    "PRODUCER_PROPERTIES",
    "REDACTED",
    "LibrdkafkaLog",
    "RateLimiter",
    "client_config_error",
    "closest_key",
    "connection_settings",
    "is_secret_key",
    "kafka_error_text",
    "property_in_message",
    "redact",
    "redact_config",
    "safe_cause",
    "scrub",
    "unknown_key_error",
]
