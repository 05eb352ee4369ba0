"""Which spans a reporter receives: Flink's ``filter.includes`` / ``filter.excludes``.

A pattern is ``<scope>[:<name>[:<types>]]`` (Flink's ``DefaultReporterFilters``):

- ``<scope>`` is matched against the metric group's *logical scope* (``process.job.task``
  style: group names joined by the delimiter, key/value groups contributing their key only);
- ``<name>`` is matched against the span name (``*`` when absent);
- ``<types>`` is the metric-type part Flink shares with metric filters; spans ignore it, so it
  may only be ``*`` or a list of Flink's metric types (``counter``, ``gauge``, ``meter``,
  ``histogram``), accepted for configuration files written for Flink.

Each part is a comma-separated list of alternatives in which ``*`` matches any run of
characters; a part must match the *whole* string. Excludes win over includes; with no include
matching, a span is filtered out. The default include is ``*:*:*`` (everything).

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
    "part a comma-separated list of non-empty alternatives where '*' matches anything, "
    "<types> being '*' or counter/gauge/meter/histogram"
)


def _compile_part(part: str) -> re.Pattern[str] | None:
    alternatives = part.split(",")
    if any(not alternative for alternative in alternatives):
        return None
    # Flink escapes nothing but means '.' literally (its docs' `*.job.*`); escape every literal.
    body = "|".join(".*".join(map(re.escape, alt.split("*"))) for alt in alternatives)
    return re.compile(f"(?:{body})", re.DOTALL)


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
    parts = pattern.strip().split(":")
    if not parts[0] or len(parts) > 3:
        raise ConfigError(key, value, _ACCEPTED)
    scope = _compile_part(parts[0])
    name = _compile_part(parts[1]) if len(parts) > 1 else _compile_part("*")
    if scope is None or name is None:
        raise ConfigError(key, value, _ACCEPTED)
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
    """A reporter's include/exclude patterns, compiled once.

    Example:
        >>> f = TraceFilter.parse(includes="*.job*:Checkpoint,JobFailure", excludes="")
        >>> f.matches("jobmanager.job", "Checkpoint"), f.matches("jobmanager", "Checkpoint")
        (True, False)
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
        """Whether a span ``name`` reported in a group of ``logical_scope`` passes."""
        for spec in self.excludes:
            if spec.matches(logical_scope, name):
                return False
        return any(spec.matches(logical_scope, name) for spec in self.includes)


_ALLOW_ALL: Final = TraceFilter.parse()
