"""The librdkafka settings of the consumer's client: what it manages, changes, and assembles."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from spanstream.kafka import LibrdkafkaLog
from spanstream.schemas import ConfigError

__all__ = [
    "LIBRDKAFKA_DEFAULTS",
    "MANAGED_CONSUMER_KEYS",
    "ConfigValue",
    "check_broker_timeout",
    "consumer_client_config",
]

_LIBRDKAFKA_LOG = logging.getLogger("spanstream.consumer.librdkafka")
_DEFAULT_AUTO_COMMIT_INTERVAL_MS: Final = 1000

ConfigValue = str | int | float | bool | Callable[..., Any]
"""A librdkafka property value (callables for ``error_cb``, ``stats_cb``, ``logger``...)."""

MANAGED_CONSUMER_KEYS: Final = frozenset(
    {
        "bootstrap.servers",
        "group.id",
        "enable.auto.commit",
        "enable.auto.offset.store",
        "auto.offset.reset",
        "partition.assignment.strategy",
        "enable.partition.eof",
    }
)
"""librdkafka keys the consumer sets itself; passing them in ``config`` raises ConfigError.

They carry its guarantees (offsets stored only after processing, cooperative rebalancing) or
have their own parameter (``bootstrap_servers``, ``group_id``, ``start``)."""

LIBRDKAFKA_DEFAULTS: Final = MappingProxyType({"fetch.queue.backoff.ms": 10})
"""librdkafka settings the consumer changes from librdkafka's defaults (``config`` overrides them).

``fetch.queue.backoff.ms``: once more than ``queued.min.messages`` (100,000) records wait in
librdkafka's queue, it postpones the next fetch by this long; its default of a second stalls a
consumer that decodes as it goes (each record costs a microsecond or so), not one that only
counts them. At 10 ms, raw ``consume()`` plus ``decode_span`` of 200,000 spans went from 151,477
to 418,514 spans/s (``benchmarks/bench_consume.py --repeats 3``, its ``raw-decode`` row, before
and after, on the benchmark machine)."""


def check_broker_timeout(broker_timeout_s: object) -> None:
    """Check ``broker_timeout_s``: seconds > 0, or None.

    Raises:
        ConfigError: it is neither.
    """
    if broker_timeout_s is not None and (
        isinstance(broker_timeout_s, bool)
        or not isinstance(broker_timeout_s, int | float)
        or not broker_timeout_s > 0
    ):
        raise ConfigError("broker_timeout_s", broker_timeout_s, "seconds > 0, or None")


def consumer_client_config(
    extra: Mapping[str, ConfigValue],
    *,
    bootstrap_servers: str,
    group_id: str,
    reset: str,
    error_cb: Callable[..., Any],
) -> dict[str, Any]:
    """The librdkafka consumer properties: the user's ``extra`` under the managed keys."""
    consumer_config: dict[str, Any] = {
        "auto.commit.interval.ms": _DEFAULT_AUTO_COMMIT_INTERVAL_MS,
        **LIBRDKAFKA_DEFAULTS,
        **extra,
        "bootstrap.servers": bootstrap_servers,
        "group.id": group_id,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": reset,
        "error_cb": error_cb,
    }
    # librdkafka's own log lines go through Python logging, rate-limited and scrubbed, not
    # straight to stderr.
    consumer_config.setdefault("logger", LibrdkafkaLog(_LIBRDKAFKA_LOG, config=extra))
    if str(extra.get("group.protocol", "classic")) == "classic":
        consumer_config["partition.assignment.strategy"] = "cooperative-sticky"
    return consumer_config
