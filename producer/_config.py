"""Reporter configuration: Flink's ``MetricConfig``, a read-only view with typed getters."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Final, TypeVar, cast

from spanstream.schemas import ConfigError

__all__ = ["MetricConfig"]

_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})


class MetricConfig(Mapping[str, object]):
    """The parameters of one reporter (``traces.reporter.<name>.*`` with the prefix removed).

    Every getter raises :class:`~spanstream.schemas.ConfigError` naming the *full* key
    (``traces.reporter.<name>.<key>``), the value, and what would be accepted.

    Example:
        >>> config = MetricConfig({"queue.max.spans": "1000"}, prefix="traces.reporter.kafka.")
        >>> config.get_int("queue.max.spans", 10, minimum=1)
        1000
    """

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[str, object], *, prefix: str = "") -> None:
        self._values = dict(values)
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        """The prefix that makes a key here a full configuration key."""
        return self._prefix

    def full_key(self, key: str) -> str:
        """Return ``key`` as it is written in the configuration."""
        return self._prefix + key

    def __getitem__(self, key: str) -> object:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        # Values may hold credentials (sasl.password, ssl.key.password): never print them.
        return f"MetricConfig(prefix={self._prefix!r}, keys={sorted(self._values)})"

    def subset(self, prefix: str) -> dict[str, object]:
        """Return the entries whose key starts with ``prefix``, with the prefix removed."""
        return {k[len(prefix) :]: v for k, v in self._values.items() if k.startswith(prefix)}

    def get_str(self, key: str, default: str) -> str:
        """Return a string value, or ``default`` when the key is absent."""
        value = self._values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(self.full_key(key), value, "a string")
        return str(value)

    def get_int(
        self, key: str, default: int, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """Return an integer value within ``[minimum, maximum]``, or ``default``."""
        value = self._values.get(key, default)
        number = _parse_number(value, int, (int, str))
        if number is None or not _within(number, minimum, maximum):
            expected = "an integer" + _range_text(minimum, maximum)
            raise ConfigError(self.full_key(key), value, expected)
        return number

    def get_float(
        self,
        key: str,
        default: float,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        """Return a number within ``[minimum, maximum]``, or ``default``."""
        value = self._values.get(key, default)
        number = _parse_number(value, float, (int, float, str))
        if number is None or math.isnan(number) or not _within(number, minimum, maximum):
            raise ConfigError(self.full_key(key), value, "a number" + _range_text(minimum, maximum))
        return number

    def get_bool(self, key: str, default: bool) -> bool:  # noqa: FBT001
        """Return a boolean (``true``/``false``, ``yes``/``no``, ``on``/``off``, ``1``/``0``)."""
        value = self._values.get(key, default)
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(self.full_key(key), value, "true or false")

    def get_choice(self, key: str, default: str, choices: tuple[str, ...]) -> str:
        """Return one of ``choices`` (compared case-insensitively), or ``default``."""
        value = self.get_str(key, default)
        lowered = value.lower()
        for choice in choices:
            if choice.lower() == lowered:
                return choice
        raise ConfigError(self.full_key(key), value, "one of " + ", ".join(choices))


_N = TypeVar("_N", int, float)


def _parse_number(value: object, kind: type[_N], accepted: tuple[type, ...]) -> _N | None:
    """``value`` as ``kind``, or ``None``: a boolean, or a type not ``accepted``, is no number."""
    if isinstance(value, bool) or not isinstance(value, accepted):
        return None
    try:
        return kind(cast(str, value))  # an int, a float or a str: what ``accepted`` admitted
    except ValueError:
        return None


def _within(number: float, minimum: float | None, maximum: float | None) -> bool:
    return (minimum is None or number >= minimum) and (maximum is None or number <= maximum)


def _range_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" of at least {minimum}"
    if maximum is not None:
        return f" of at most {maximum}"
    return ""
