"""Configuration keys: the connection settings clients share, and "did you mean" for typos."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Final

from spanstream.kafka._secrets import redact
from spanstream.schemas import ConfigError

__all__ = [
    "CALLBACK_KEYS",
    "CONNECTION_KEY_PREFIXES",
    "closest_key",
    "connection_settings",
    "unknown_key_error",
]

CONNECTION_KEY_PREFIXES: Final = (
    "bootstrap.servers",
    "client.id",
    "security.protocol",
    "ssl.",
    "ssl_",
    "sasl.",
    "enable.ssl",
    "enable.sasl",
    "socket.",
    "broker.",
    "reconnect.",
    "api.version",
    "client.dns.lookup",
    "client.rack",
    "connections.max.idle.ms",
    "metadata.",
    "topic.metadata.",
    "https.",
)
"""Keys (by prefix) that say how to reach and authenticate with a cluster: a second client of
the same cluster (an admin client, a dead-letter producer) takes them from the first."""

CALLBACK_KEYS: Final = frozenset(
    {
        "error_cb",
        "logger",
        "oauth_cb",
        "on_commit",
        "on_delivery",
        "stats_cb",
        "throttle_cb",
    }
)
"""confluent-kafka's own (Python callable) properties, which librdkafka never sees."""


def connection_settings(config: Mapping[str, object]) -> dict[str, object]:
    """The entries of ``config`` that say how to reach and authenticate with the cluster."""
    return {key: value for key, value in config.items() if key.startswith(CONNECTION_KEY_PREFIXES)}


def closest_key(key: str, known: Iterable[str]) -> str | None:
    """The known key most like ``key`` (a likely misspelling of it), or ``None`` if none is close.

    Example:
        >>> closest_key("sesion.timeout.ms", ["session.timeout.ms", "group.id"])
        'session.timeout.ms'
    """
    candidates = sorted(set(known))
    found = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75)
    if not found:
        lowered = {candidate.lower(): candidate for candidate in candidates}
        found = [lowered[k] for k in difflib.get_close_matches(key.lower(), lowered, n=1)]
    return found[0] if found else None


def unknown_key_error(full_key: str, key: str, value: object, known: Iterable[str]) -> ConfigError:
    """The ConfigError for a key that is not known: it names the closest known key, if any.

    ``full_key`` is how the user wrote the key (``config['sesion.timeout.ms']``,
    ``traces.reporter.kafka.topik``); ``key`` the part compared with ``known``. A secret
    value is shown as ``***``.
    """
    suggestion = closest_key(key, known)
    hint = f"did you mean `{suggestion}`?" if suggestion else "see the documentation for the keys"
    return ConfigError(full_key, redact(key, value), f"a known key ({hint})")
