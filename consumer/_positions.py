"""Start positions and wall-clock times: ``earliest``, ``latest``, a datetime or epoch ms."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from spanstream.schemas import ConfigError

__all__ = ["StartPosition", "to_epoch_ms"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

StartPosition = Literal["earliest", "latest"] | dt.datetime | int
"""Where a partition starts when the group has no committed offset for it: ``"earliest"``,
``"latest"``, or the first record at or after a wall-clock time (an aware ``datetime`` or epoch
milliseconds)."""


def to_epoch_ms(when: dt.datetime | int, *, key: str) -> int:
    """Return a wall-clock time as epoch milliseconds.

    Example:
        >>> to_epoch_ms(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), key="start")
        1704067200000

    Raises:
        ConfigError: a naive datetime (its zone would be a guess), a negative or non-int value.
    """
    if isinstance(when, dt.datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ConfigError(key, when, "a timezone-aware datetime (e.g. tzinfo=datetime.UTC)")
        return (when - _EPOCH) // dt.timedelta(milliseconds=1)
    if type(when) is not int or when < 0:
        raise ConfigError(key, when, "an aware datetime or non-negative epoch milliseconds")
    return when
