r"""Which spans and events a reporter receives: Flink's ``filter.includes`` / ``filter.excludes``.

A pattern is ``<scope>[:<name>[:<types>]]`` (Flink's ``DefaultReporterFilters``):

- ``<scope>`` is matched against the metric group's *logical scope* (``process.job.task``
  style: group names joined by the global delimiter, key/value groups contributing their key);
- ``<name>`` is matched against the span or event name (``*`` when absent);
- ``<types>`` is the metric-type part Flink shares with metric filters; spans and events ignore
  it, so it may only be ``*`` or a list of Flink's metric types (``counter``, ``gauge``,
  ``meter``, ``histogram``), accepted for configuration files written for Flink.

Each part follows Flink's regular-expression semantics exactly: the part is split on ``,``,
each alternative has ``*`` replaced by ``.*`` and is otherwise a regular expression (``.`` is
any character; ``+ ? ( ) [ ] | ^ $ \`` keep their meaning), the alternatives are joined as
``(a|b)``, and the whole string must match. An empty part therefore matches only ``""``.
Excludes win over includes; with no include matching, the item is filtered out. The default
include is ``*:*:*`` (everything).

A list of patterns is written, as in Flink's flat configuration, separated by ``;``
(``*.job.*:Checkpoint;*:Compaction``), or as a YAML list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from spanstream.schemas import ConfigError

__all__ = ["TraceFilter"]

_METRIC_TYPES: Final = frozenset({"counter", "gauge", "meter", "histogram"})
_ACCEPTED: Final = (
    "a list of '<scope>[:<name>[:<types>]]' patterns separated by ';' (or a YAML list), each "
    "part a comma-separated list of regular expressions where '*' stands for '.*', "
    "<types> being '*' or counter/gauge/meter/histogram"
)


def _java_split(text: str, separator: str) -> list[str]:
    """``String.split`` as Java does it: trailing empty strings are removed (unless all is)."""
    parts = text.split(separator)
    while len(parts) > 1 and not parts[-1]:
        parts.pop()
    return parts


def _compile_part(part: str) -> re.Pattern[str]:
    # DefaultReporterFilters: replaceAll("\\.", "\\.") (a no-op), then '*' -> '.*', each
    # alternative kept as a regular expression, joined as (a|b), matched in full.
    body = "|".join(alternative.replace("*", ".*") for alternative in _java_split(part, ","))
    return re.compile(f"({body})")


@dataclass(frozen=True, slots=True)
class _Spec:
    scope: re.Pattern[str]
    name: re.Pattern[str]

    def matches(self, logical_scope: str, name: str) -> bool:
        return (
            self.name.fullmatch(name) is not None
            and self.scope.fullmatch(logical_scope) is not None
        )


def _parse_pattern(pattern: str, key: str, value: object) -> _Spec:
    parts = _java_split(pattern.strip(), ":")
    if len(parts) > 3:
        raise ConfigError(key, value, _ACCEPTED)
    try:
        scope = _compile_part(parts[0])
        name = _compile_part(parts[1] if len(parts) > 1 else "*")
    except re.error as exc:
        raise ConfigError(key, value, f"{_ACCEPTED} ({pattern!r}: {exc})") from exc
    if len(parts) == 3:
        types = {t.strip().lower() for t in parts[2].split(",")}
        if types != {"*"} and not types <= _METRIC_TYPES:
            raise ConfigError(key, value, _ACCEPTED)
    return _Spec(scope, name)


def _split_patterns(value: object, key: str) -> list[str]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(";")]
        # A trailing ';' is harmless; an empty string means "no patterns".
        return [item for item in items if item]
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return [str(item).strip() for item in value]
    raise ConfigError(key, value, _ACCEPTED)


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """A reporter's include/exclude patterns, compiled once (for spans and events alike).

    Example:
        >>> f = TraceFilter.parse(includes="*.job*:Checkpoint,JobFailure.+", excludes="")
        >>> f.matches("jobmanager.job", "Checkpoint"), f.matches("jobmanager", "Checkpoint")
        (True, False)
        >>> f.matches("jobmanager.job", "JobFailureEvent")
        True
    """

    includes: tuple[_Spec, ...]
    excludes: tuple[_Spec, ...]

    @classmethod
    def parse(
        cls,
        *,
        includes: object = "*:*:*",
        excludes: object = "",
        includes_key: str = "filter.includes",
        excludes_key: str = "filter.excludes",
    ) -> TraceFilter:
        """Compile patterns from configuration values (a ``;``-separated string or a list).

        Raises:
            ConfigError: naming the key, the value and the accepted pattern format.
        """
        return cls(
            tuple(
                _parse_pattern(p, includes_key, includes)
                for p in _split_patterns(includes, includes_key)
            ),
            tuple(
                _parse_pattern(p, excludes_key, excludes)
                for p in _split_patterns(excludes, excludes_key)
            ),
        )

    @classmethod
    def allow_all(cls) -> TraceFilter:
        """The default filter: include ``*:*:*``, exclude nothing."""
        return _ALLOW_ALL

    def matches(self, logical_scope: str, name: str) -> bool:
        """Whether a span or event ``name`` reported in a group of ``logical_scope`` passes."""
        for spec in self.excludes:
            if spec.matches(logical_scope, name):
                return False
        return any(spec.matches(logical_scope, name) for spec in self.includes)


_ALLOW_ALL: Final = TraceFilter.parse()
