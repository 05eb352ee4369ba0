"""Rate-limited logging for the Kafka reporters: their drop warnings and librdkafka's own lines."""

from __future__ import annotations

import logging
import time
from typing import Final

__all__ = ["LOG_INTERVAL_S", "LibrdkafkaLog", "RateLimiter"]

LOG_INTERVAL_S: Final = 10.0
"""One line per kind of message at most this often; the lines held back are counted."""


class RateLimiter:
    """Lets one message per key through every ``interval_s``; counts the ones it held back."""

    __slots__ = ("_interval_s", "_next", "_suppressed")

    def __init__(self, interval_s: float) -> None:
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
    """librdkafka's log lines, rate-limited per level and facility.

    A broker that is down makes librdkafka log every reconnection attempt; one line per
    facility every few seconds (with the count of the lines held back) says the same.
    """

    __slots__ = ("_limiter", "_logger")

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._limiter = RateLimiter(LOG_INTERVAL_S)

    def log(self, level: int, msg: str, *args: object) -> None:
        """Called by confluent-kafka as ``logger.log(level, "%s [%s] %s", fac, name, text)``."""
        facility = str(args[0]) if args else ""
        suppressed = self._limiter.allow(f"{level}:{facility}")
        if suppressed is None:
            return
        if suppressed:
            msg += " (%d similar lines not logged)"
            args = (*args, suppressed)
        self._logger.log(level, msg, *args)
