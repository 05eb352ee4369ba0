"""Times on the command line: ``10m`` ago, ISO 8601, epoch milliseconds, ``now``."""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Final

from spanstream.cli._exit import UsageError

__all__ = ["TIME_HELP", "TimeRange", "format_ts_millis", "parse_duration_s", "parse_instant"]

TIME_HELP: Final = (
    "a duration ago (90s, 10m, 2h, 1d, 1h30m), an ISO 8601 time (2026-11-25T16:00:00Z; "
    "without a zone it is UTC), epoch milliseconds, or 'now'"
)

_UNIT_MILLIS: Final = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION: Final = re.compile(r"(?:(\d+(?:\.\d+)?)(ms|s|m|h|d))+")
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
# Epoch milliseconds from 2001 on: smaller numbers are more likely a mistake (seconds?).
_MIN_EPOCH_MILLIS: Final = 1_000_000_000_000
# The last millisecond of year 9999: Python's datetimes end there, and Kafka's timestamps are
# int64 (a larger number overflowed deep in librdkafka, after the whole topic was read).
_MAX_EPOCH_MILLIS: Final = 253_402_300_799_999


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def parse_duration_s(text: str, *, option: str) -> float:
    """Parse ``90s``, ``10m``, ``1h30m``, ``250ms`` (or plain seconds) into seconds.

    >>> parse_duration_s("1h30m", option="--since")
    5400.0

    Raises:
        UsageError: ``text`` is not a duration; the message names the option.
    """
    millis = _duration_millis(text.strip().lower())
    if millis is None:
        raise UsageError(
            f"{option}: {text!r} is not a duration; expected e.g. 90s, 10m, 2h, 1d, 1h30m"
        )
    return millis / 1000


def _duration_millis(text: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text) * 1000
    if not _DURATION.fullmatch(text):
        return None
    return sum(float(number) * _UNIT_MILLIS[unit] for number, unit in _DURATION_PART.findall(text))


def parse_instant(text: str, *, option: str, now_millis: int | None = None) -> int:
    """Parse a point in time into epoch milliseconds.

    Accepts a duration ago (``10m`` means ten minutes before ``now_millis``), an ISO 8601
    date or time (UTC when it has no zone), epoch milliseconds, or ``now``.

    >>> parse_instant("10m", option="--since", now_millis=1_700_000_600_000)
    1700000000000
    >>> parse_instant("2024-01-01T00:00:00Z", option="--since")
    1704067200000

    Raises:
        UsageError: ``text`` is none of these; the message names the option and the forms.
    """
    now = _now_millis() if now_millis is None else now_millis
    cleaned = text.strip()
    lowered = cleaned.lower()
    if lowered == "now":
        return now
    if re.fullmatch(r"\d{10,}", cleaned):
        value = int(cleaned)
        if value < _MIN_EPOCH_MILLIS:
            raise UsageError(
                f"{option}: {text!r} looks like epoch seconds; give epoch milliseconds "
                f"({value * 1000}) or an ISO 8601 time"
            )
        if value > _MAX_EPOCH_MILLIS:
            raise UsageError(
                f"{option}: {text!r} is past the year 9999; give epoch milliseconds (e.g. "
                f"{now}) or an ISO 8601 time"
            )
        return value
    ago = _duration_millis(lowered)
    if ago is not None and not re.fullmatch(r"\d+(?:\.\d+)?", lowered):
        if not ago < now:  # also catches inf from an absurdly long number
            raise UsageError(f"{option}: {text!r} ago is before 1970; give a shorter duration")
        return now - round(ago)
    try:
        when = dt.datetime.fromisoformat(cleaned.replace("z", "Z"))
    except ValueError:
        when = None
    if when is None:
        raise UsageError(f"{option}: {text!r} is not a time; expected {TIME_HELP}")
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    millis = int(when.timestamp() * 1000)
    if millis < 0:  # Kafka reads negative times as "latest" (-1) and "earliest" (-2)
        raise UsageError(f"{option}: {text!r} is before 1970; record times start there")
    return millis


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A range of record times in epoch milliseconds; ``None`` leaves that end open.

    ``since_millis`` is inclusive and ``until_millis`` exclusive.
    """

    since_millis: int | None = None
    until_millis: int | None = None

    @classmethod
    def parse(
        cls, since: str | None, until: str | None, *, now_millis: int | None = None
    ) -> TimeRange:
        """Parse ``--since`` and ``--until``.

        Raises:
            UsageError: a malformed time, or ``--since`` not before ``--until``.
        """
        now = _now_millis() if now_millis is None else now_millis
        since_ms = None if since is None else parse_instant(since, option="--since", now_millis=now)
        until_ms = None if until is None else parse_instant(until, option="--until", now_millis=now)
        if since_ms is not None and until_ms is not None and since_ms >= until_ms:
            raise UsageError(
                f"--since ({format_ts_millis(since_ms)}) must be before --until "
                f"({format_ts_millis(until_ms)})"
            )
        return cls(since_ms, until_ms)

    def contains(self, ts_millis: int) -> bool:
        """Whether ``ts_millis`` falls in the range."""
        if self.since_millis is not None and ts_millis < self.since_millis:
            return False
        return self.until_millis is None or ts_millis < self.until_millis

    def describe(self) -> str:
        """The range in words, for headings."""
        since = (
            "the beginning" if self.since_millis is None else format_ts_millis(self.since_millis)
        )
        until = "now" if self.until_millis is None else format_ts_millis(self.until_millis)
        return f"{since} to {until}"


def format_ts_millis(ts_millis: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC time with milliseconds.

    >>> format_ts_millis(1704067200123)
    '2024-01-01T00:00:00.123Z'
    """
    when = dt.datetime.fromtimestamp(ts_millis / 1000, tz=dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_millis % 1000:03d}Z"
