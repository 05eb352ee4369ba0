"""Reporters started from Flink's ``traces.*`` and ``events.*`` keys: one parser for both.

The per-reporter keys are the same under both prefixes (Flink's ``TraceOptions`` and
``EventOptions``)::

    traces.reporters: mem,log                      # optional: which reporters to start
    traces.reporter.<name>.factory.class: ...       # required: entry point or Python path
    traces.reporter.<name>.scope.variables.additional: region:eu-west-1,env:local
    traces.reporter.<name>.scope.variables.excludes: host;tm_id
    traces.reporter.<name>.scope.delimiter: .
    traces.reporter.<name>.filter.includes: '*:*:*'
    traces.reporter.<name>.filter.excludes: ''
    traces.reporter.<name>.<parameter>: ...         # the reporter's own, via MetricConfig
    events.reporters / events.reporter.<name>.*     # the same, for event reporters
    traces.checkpoint.span-detail-level: SPAN_PER_CHECKPOINT
    metrics.scope.delimiter: .                      # joins the logical scope filters match on

A key under ``traces.`` or ``events.`` that is none of these, and a reporter parameter the
reporter's factory does not declare (:class:`~spanstream.producer.ReporterKeys`), is a
:class:`~spanstream.schemas.ConfigError` naming the closest known key. Other keys (a Flink
``config.yaml`` holds many) are left alone.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

import yaml

from spanstream.producer._config import MetricConfig
from spanstream.producer._filter import TraceFilter
from spanstream.producer._reporter import (
    HIDDEN_VALUE,
    EventReporter,
    EventReporterFactory,
    ReporterKeys,
    TraceReporter,
    TraceReporterFactory,
)
from spanstream.schemas import ConfigError
from spanstream.schemas.system import CheckpointSpanDetailLevel

__all__ = [
    "DETAIL_LEVEL_KEY",
    "ENTRY_POINT_GROUP",
    "EVENTS",
    "EVENT_ENTRY_POINT_GROUP",
    "GLOBAL_DELIMITER_KEY",
    "TRACES",
    "ReporterKind",
    "ReporterSetup",
    "check_config",
    "check_top_level_keys",
    "close_quietly",
    "flatten_config",
    "load_config",
    "parse_delimiter",
    "parse_detail_level",
    "reporter_sections",
    "start_reporter",
    "variable_key",
]

ENTRY_POINT_GROUP: Final = "spanstream.trace_reporters"
"""The entry-point group that names trace reporter factories (``kafka``, ``logging``, ...)."""

EVENT_ENTRY_POINT_GROUP: Final = "spanstream.event_reporters"
"""The entry-point group that names event reporter factories (``logging``, ``in_memory``, ...)."""

GLOBAL_DELIMITER_KEY: Final = "metrics.scope.delimiter"
"""Flink's global delimiter: it joins the logical scope that filters match."""

DETAIL_LEVEL_KEY: Final = "traces.checkpoint.span-detail-level"
"""Flink 2.2's key for how much of a checkpoint its span tree shows."""

_FACTORY: Final = "factory.class"
_ADDITIONAL: Final = "scope.variables.additional"
_EXCLUDES_VARIABLES: Final = "scope.variables.excludes"
_DELIMITER: Final = "scope.delimiter"
_INCLUDES: Final = "filter.includes"
_EXCLUDES: Final = "filter.excludes"
# Keys the registry consumes; a reporter's MetricConfig holds only its own parameters.
_REGISTRY_KEYS: Final = frozenset(
    {_FACTORY, _ADDITIONAL, _EXCLUDES_VARIABLES, _DELIMITER, _INCLUDES, _EXCLUDES}
)
# Flink's name rule is [\S&&[^.]]*; an empty name is not a reporter.
_NAME: Final = re.compile(r"[^.\s]+")
# traces.report-events-as-spans: Flink 1.20-2.1's switch for the JobFailure span, removed in
# 2.2; a configuration written for those versions still carries it, and it changes nothing.
_OTHER_KEYS: Final = frozenset(
    {GLOBAL_DELIMITER_KEY, DETAIL_LEVEL_KEY, "traces.report-events-as-spans"}
)

R = TypeVar("R", TraceReporter, EventReporter)
_LOG = logging.getLogger("spanstream.producer")


@dataclass(frozen=True, slots=True)
class ReporterKind:
    """What differs between trace and event reporters: names only, never behaviour."""

    what: str
    prefix: str
    list_key: str
    entry_point_group: str
    create_method: str
    factory_type: type
    reporter_type: type


TRACES: Final = ReporterKind(
    "trace",
    "traces.reporter.",
    "traces.reporters",
    ENTRY_POINT_GROUP,
    "create_trace_reporter",
    TraceReporterFactory,
    TraceReporter,
)
"""Trace reporters: ``traces.reporter.<name>.*``, ``TraceReporterFactory``."""

EVENTS: Final = ReporterKind(
    "event",
    "events.reporter.",
    "events.reporters",
    EVENT_ENTRY_POINT_GROUP,
    "create_event_reporter",
    EventReporterFactory,
    EventReporter,
)
"""Event reporters: ``events.reporter.<name>.*``, ``EventReporterFactory``."""
_KINDS: Final = (TRACES, EVENTS)


def flatten_config(config: Mapping[str, object]) -> dict[str, object]:
    """Flatten nested mappings into Flink's dotted keys.

    A mapping under ``...scope.variables.additional`` is kept as a value (it is a map option).

    >>> flatten_config({"traces": {"reporter": {"log": {"factory.class": "logging"}}}})
    {'traces.reporter.log.factory.class': 'logging'}
    """
    flat: dict[str, object] = {}

    def walk(prefix: str, node: Mapping[Any, object]) -> None:
        for raw_key, value in node.items():
            key = f"{prefix}{raw_key}"
            if isinstance(value, Mapping) and not key.endswith(_ADDITIONAL):
                walk(key + ".", value)
            else:
                flat[key] = value

    walk("", config)
    return flat


def load_config(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a Flink-style ``config.yaml`` (flat or nested keys) into flat keys.

    Raises:
        ConfigError: the file is not UTF-8, not YAML, or not a mapping at its top.
        OSError: the file cannot be opened (as :func:`open` raises it).
    """
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except UnicodeDecodeError as exc:
        # Where the bad byte is, never the bytes themselves (the file may hold a password).
        raise ConfigError(
            os.fspath(path), "<the file>", f"a YAML document (not UTF-8 at byte {exc.start})"
        ) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Never the file's text (it may hold a password): where the parser stopped, and why.
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(
            os.fspath(path), "<the file>", f"a YAML document ({where}{problem})"
        ) from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(os.fspath(path), document, "a YAML mapping of configuration keys")
    return flatten_config(document)


def variable_key(name: str) -> str:
    """Return ``name`` as a scope-variable key: ``host`` -> ``<host>`` (``<host>`` unchanged)."""
    if name.startswith("<") and name.endswith(">"):
        return name
    return f"<{name}>"


def _parse_variables(key: str, value: object) -> dict[str, str]:
    """``k1:v1,k2:v2`` (or a mapping) to ``{"<k1>": "v1", ...}``."""
    expected = "'key:value' pairs separated by ',' (or a YAML mapping), keys non-empty"
    pairs: list[tuple[object, object]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, str):
        pairs = []
        for item in value.split(","):
            if not item.strip():
                continue
            k, sep, v = item.partition(":")
            if not sep:
                raise ConfigError(key, value, expected)
            pairs.append((k.strip(), v.strip()))
    else:
        raise ConfigError(key, value, expected)
    variables: dict[str, str] = {}
    for name, text in pairs:
        if not isinstance(name, str) or not name.strip("<>") or isinstance(text, Mapping | list):
            raise ConfigError(key, value, expected)
        variables[variable_key(name)] = str(text)
    return variables


def _parse_excludes(key: str, value: object) -> frozenset[str]:
    """Flink's ``scope.variables.excludes``: ``host;tm_id`` (or a list) to ``{"<host>", ...}``."""
    expected = "variable names separated by ';' (or a YAML list), such as 'host;tm_id'"
    if isinstance(value, str):
        names = [name.strip() for name in value.split(";")]
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = [name.strip() for name in value]
    else:
        raise ConfigError(key, value, expected)
    return frozenset(variable_key(name) for name in names if name.strip("<>"))


def parse_delimiter(key: str, value: object) -> str:
    """A scope delimiter: exactly one character."""
    if not isinstance(value, str) or len(value) != 1:
        raise ConfigError(key, value, "exactly one character, such as '.'")
    return value


def parse_detail_level(flat: Mapping[str, object]) -> CheckpointSpanDetailLevel:
    """``traces.checkpoint.span-detail-level``, Flink's enum names (case-insensitive)."""
    value = flat.get(DETAIL_LEVEL_KEY, CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT.value)
    if isinstance(value, str):
        for level in CheckpointSpanDetailLevel:
            if level.value == value.strip().upper():
                return level
    raise ConfigError(
        DETAIL_LEVEL_KEY,
        value,
        "one of " + ", ".join(level.value for level in CheckpointSpanDetailLevel),
    )


@dataclass(frozen=True, slots=True)
class ReporterSetup(Generic[R]):
    """One started reporter (trace or event) and its per-reporter settings.

    Build these by hand to assemble a registry in code (the reporter must already be open), or
    let :meth:`ReporterRegistry.from_config` build them.

    Attributes:
        excluded_variables: scope variables this reporter does not get (Flink's
            ``scope.variables.excludes``), as ``<name>`` keys (``host`` is taken as ``<host>``).
    """

    name: str
    reporter: R
    trace_filter: TraceFilter = field(default_factory=TraceFilter.allow_all)
    additional_variables: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = "."
    excluded_variables: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        variables = {variable_key(k): str(v) for k, v in self.additional_variables.items()}
        object.__setattr__(self, "additional_variables", MappingProxyType(variables))
        excluded = frozenset(variable_key(name) for name in self.excluded_variables)
        object.__setattr__(self, "excluded_variables", excluded)


def _near(word: str, target: str) -> bool:
    return difflib.SequenceMatcher(None, word, target).ratio() >= 0.8


def check_top_level_keys(flat: Mapping[str, object]) -> None:
    """Reject a ``traces.*`` / ``events.*`` key (or a near miss of the prefix) that is unknown.

    Raises:
        ConfigError: naming the key and the closest known one.
    """
    known = sorted(_OTHER_KEYS | {kind.list_key for kind in _KINDS})
    for key in flat:
        head, _, rest = key.partition(".")
        if key in known or any(key.startswith(kind.prefix) for kind in _KINDS):
            continue
        if head not in {"traces", "events"} and not (
            _near(head, "traces") or _near(head, "events")
        ):
            continue
        # traces.reportr.kafka.topic -> traces.reporter.kafka.topic: the same key, prefix mended.
        tail = rest.partition(".")[2]
        candidates = known + [kind.prefix + tail for kind in _KINDS if tail]
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            key,
            HIDDEN_VALUE,
            f"a known key: {hint}(known: {', '.join(known)}, "
            "traces.reporter.<name>.<parameter>, events.reporter.<name>.<parameter>)",
        )


def reporter_sections(
    flat: Mapping[str, object], kind: ReporterKind
) -> dict[str, dict[str, object]]:
    """The ``<prefix><name>.*`` keys of ``kind``, per selected name, in order.

    Raises:
        ConfigError: a malformed key, or a name in ``<kind>.reporters`` nothing configures.
    """
    sections: dict[str, dict[str, object]] = {}
    for key, value in flat.items():
        if key.startswith(kind.prefix):
            name, dot, rest = key[len(kind.prefix) :].partition(".")
            if not dot or not rest or not _NAME.fullmatch(name):
                raise ConfigError(key, value, f"a key '{kind.prefix}<name>.<parameter>'")
            sections.setdefault(name, {})[rest] = value
    value = flat.get(kind.list_key)
    if value is None:
        return sections
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = [name.strip() for name in value]
    else:
        raise ConfigError(kind.list_key, value, "a comma-separated list of reporter names")
    for name in names:
        if name not in sections:
            configured = ", ".join(sorted(sections)) or "none"
            raise ConfigError(
                kind.list_key,
                value,
                f"names of reporters configured under '{kind.prefix}<name>.' "
                f"(configured: {configured})",
            )
    return {name: sections[name] for name in dict.fromkeys(names)}


@dataclass(frozen=True, slots=True)
class _Plan:
    """A reporter's checked settings, before its factory is asked for the reporter."""

    prefix: str
    factory: object
    params: dict[str, object]
    trace_filter: TraceFilter
    variables: dict[str, str]
    excluded: frozenset[str]
    delimiter: str


def _plan_reporter(kind: ReporterKind, name: str, section: Mapping[str, object]) -> _Plan:
    prefix = f"{kind.prefix}{name}."
    factory_key = prefix + _FACTORY
    if _FACTORY not in section:
        raise ConfigError(factory_key, None, _factory_expectation(kind))
    factory = _load_factory(kind, factory_key, section[_FACTORY])
    params = {k: v for k, v in section.items() if k not in _REGISTRY_KEYS}
    declared = getattr(factory, "reporter_keys", None)
    if isinstance(declared, ReporterKeys):
        ReporterKeys(declared.keys | _REGISTRY_KEYS, declared.prefixes).check(params, prefix=prefix)
    return _Plan(
        prefix,
        factory,
        params,
        TraceFilter.parse(
            includes=section.get(_INCLUDES, "*:*:*"),
            excludes=section.get(_EXCLUDES, ""),
            includes_key=prefix + _INCLUDES,
            excludes_key=prefix + _EXCLUDES,
        ),
        _parse_variables(prefix + _ADDITIONAL, section.get(_ADDITIONAL, "")),
        _parse_excludes(prefix + _EXCLUDES_VARIABLES, section.get(_EXCLUDES_VARIABLES, "")),
        parse_delimiter(prefix + _DELIMITER, section.get(_DELIMITER, ".")),
    )


def check_config(flat: Mapping[str, object]) -> None:
    """Check every key and registry setting of ``flat`` without starting any reporter.

    The reporters' own values (a Kafka reporter's ``queue.max.spans: x``) are checked when
    they open; their keys, the factories, filters, variables and delimiters are checked here.

    Raises:
        ConfigError: as :meth:`ReporterRegistry.from_config` would, for those.
    """
    check_top_level_keys(flat)
    parse_delimiter(GLOBAL_DELIMITER_KEY, flat.get(GLOBAL_DELIMITER_KEY, "."))
    parse_detail_level(flat)
    for kind in _KINDS:
        for name, section in reporter_sections(flat, kind).items():
            _plan_reporter(kind, name, section)


def start_reporter(
    kind: ReporterKind, name: str, section: Mapping[str, object]
) -> ReporterSetup[Any]:
    """Create and open one reporter of ``kind`` from its section (prefix removed).

    Raises:
        ConfigError: a missing or unknown factory, a key the reporter does not know, a
            malformed setting, or a reporter that failed to start.
    """
    plan = _plan_reporter(kind, name, section)
    factory_key = plan.prefix + _FACTORY
    try:
        reporter = getattr(plan.factory, kind.create_method)(dict(plan.params))
        reporter.open(MetricConfig(plan.params, prefix=plan.prefix))
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            factory_key,
            section[_FACTORY],
            f"a factory whose reporter starts (it raised {type(exc).__name__}: {exc})",
        ) from exc
    if not isinstance(reporter, kind.reporter_type):
        close_quietly(name, reporter)
        raise ConfigError(
            factory_key, section[_FACTORY], f"a factory returning a {kind.reporter_type.__name__}"
        )
    return ReporterSetup(
        name, reporter, plan.trace_filter, plan.variables, plan.delimiter, plan.excluded
    )


def _factory_expectation(kind: ReporterKind) -> str:
    names = sorted({ep.name for ep in metadata.entry_points(group=kind.entry_point_group)})
    return (
        f"an entry-point name in group {kind.entry_point_group!r} ({', '.join(names) or 'none'}) "
        "or a Python path 'package.module:Factory' / 'package.module.Factory' of a "
        f"{kind.factory_type.__name__}"
    )


def _load_factory(kind: ReporterKind, key: str, value: object) -> object:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, _factory_expectation(kind))
    spec = value.strip()
    try:
        if ":" in spec or "." in spec:
            module_name, sep, attribute = spec.partition(":")
            if not sep:
                module_name, _, attribute = spec.rpartition(".")
            target: object = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
        else:
            target = _entry_point(kind, key, value, spec)
    except ConfigError:
        raise
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            key, value, f"{_factory_expectation(kind)} ({type(exc).__name__}: {exc})"
        ) from exc
    factory = target() if isinstance(target, type) else target
    if not isinstance(factory, kind.factory_type):
        raise ConfigError(
            key,
            value,
            f"{_factory_expectation(kind)}; {spec} has no {kind.create_method} method",
        )
    return factory


def _entry_point(kind: ReporterKind, key: str, value: object, name: str) -> object:
    for entry_point in metadata.entry_points(group=kind.entry_point_group):
        if entry_point.name == name:
            return entry_point.load()
    raise ConfigError(key, value, _factory_expectation(kind))


def close_quietly(name: str, reporter: TraceReporter | EventReporter) -> None:
    """Close a reporter; an exception is logged, never raised."""
    try:
        reporter.close()
    except Exception:  # noqa: BLE001 - one reporter failing to close must not stop the others
        _LOG.exception("reporter %r failed to close", name)
