"""Log rate limiting for Kafka clients: one line per kind and interval, with a count of the rest.

A broker that is down makes librdkafka report every reconnection attempt, several a second per
broker. The application's log should say so, not drown in it: each kind of line (level and
facility for librdkafka's own log, error code for client errors) is logged at most once per
:data:`LOG_INTERVAL_S`, and the next one let through says how many were held back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Final

from spanstream.kafka._secrets import scrub

__all__ = ["LOG_INTERVAL_S", "LibrdkafkaLog", "RateLimiter"]

LOG_INTERVAL_S: Final = 60.0
"""How often one kind of repeated Kafka client line is logged, producer and consumer alike."""


class RateLimiter:
    """Lets one message per key through every ``interval_s``; counts the ones it held back."""

    __slots__ = ("_interval_s", "_next", "_suppressed")

    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._next: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """Return how many were held back since the last one let through, or ``None``."""
        now = time.monotonic()
        if now < self._next.get(key, 0.0):
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return None
        self._next[key] = now + self._interval_s
        return self._suppressed.pop(key, 0)


class LibrdkafkaLog:
    """librdkafka's log lines (confluent-kafka's ``logger`` property), rate-limited and scrubbed.

    One line per level and facility every :data:`LOG_INTERVAL_S` (with the count of the lines
    held back) reaches ``logger``; secret values of ``config`` are replaced by ``***``.
    """

    __slots__ = ("_config", "_limiter", "_logger")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        config: Mapping[str, object] | None = None,
        interval_s: float = LOG_INTERVAL_S,
    ) -> None:
        self._logger = logger
        self._config: Mapping[str, object] = dict(config or {})
        self._limiter = RateLimiter(interval_s)

    def log(self, level: int, msg: str, *args: object) -> None:
        """Called by confluent-kafka as ``logger.log(level, "%s [%s] %s", fac, name, text)``."""
        facility = str(args[0]) if args else ""
        suppressed = self._limiter.allow(f"{level}:{facility}")
        if suppressed is None:
            return
        if suppressed:
            msg += " (%d similar lines not logged)"
            args = (*args, suppressed)
        if self._config:
            args = tuple(scrub(a, self._config) if isinstance(a, str) else a for a in args)
        self._logger.log(level, msg, *args)
