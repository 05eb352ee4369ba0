"""Trace reporters started from Flink's ``traces.*`` configuration, as a dict or a YAML file.

The keys are Flink's (see ``flink-traces.md``)::

    traces.reporters: mem,log                     # optional: which reporters to start
    traces.reporter.<name>.factory.class: ...      # required: entry point or Python path
    traces.reporter.<name>.scope.variables.additional: region:eu-west-1,env:local
    traces.reporter.<name>.scope.delimiter: .
    traces.reporter.<name>.filter.includes: '*:*:*'
    traces.reporter.<name>.filter.excludes: ''
    traces.reporter.<name>.<parameter>: ...        # the reporter's own, via MetricConfig
    metrics.scope.delimiter: .                     # joins the logical scope filters match on

A nested YAML document is flattened with dots first, so ``traces: {reporter: {log: {...}}}``
and ``traces.reporter.log...`` mean the same.

As in Flink (``MetricRegistryImpl``), filters match the group's logical scope joined with the
global ``metrics.scope.delimiter``; a reporter's own ``scope.delimiter`` is validated and kept in
:attr:`ReporterSetup.delimiter` for reporters that build scope strings of their own. The
registry's keys (``factory.class``, ``scope.*``, ``filter.*``) are not passed on to the
reporter, so a reporter may reject parameters it does not know.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import yaml

from spanstream.producer._config import MetricConfig
from spanstream.producer._filter import TraceFilter
from spanstream.producer._reporter import TraceReporter, TraceReporterFactory
from spanstream.schemas import ConfigError, Span

if TYPE_CHECKING:
    from spanstream.producer._metric_group import MetricGroup

__all__ = [
    "ENTRY_POINT_GROUP",
    "ReporterRegistry",
    "ReporterSetup",
    "ReporterStats",
    "flatten_config",
    "load_config",
]

ENTRY_POINT_GROUP: Final = "spanstream.trace_reporters"
"""The entry-point group that names trace reporter factories (``kafka``, ``logging``, ...)."""

_PREFIX: Final = "traces.reporter."
_REPORTERS_KEY: Final = "traces.reporters"
_GLOBAL_DELIMITER_KEY: Final = "metrics.scope.delimiter"
_FACTORY: Final = "factory.class"
_ADDITIONAL: Final = "scope.variables.additional"
_DELIMITER: Final = "scope.delimiter"
_INCLUDES: Final = "filter.includes"
_EXCLUDES: Final = "filter.excludes"
# Keys the registry consumes; a reporter's MetricConfig holds only its own parameters, so a
# reporter may reject keys it does not know.
_REGISTRY_KEYS: Final = frozenset({_FACTORY, _ADDITIONAL, _DELIMITER, _INCLUDES, _EXCLUDES})
_NAME: Final = re.compile(r"[^.\s]+")

_LOG = logging.getLogger("spanstream.producer")
_FAILURE_LOG_INTERVAL_S: Final = 10.0


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
        ConfigError: the file is not YAML or not a mapping at its top.
    """
    text = open(path, encoding="utf-8").read()  # noqa: SIM115
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(os.fspath(path), text[:80], f"a YAML document ({exc})") from exc
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ConfigError(os.fspath(path), document, "a YAML mapping of configuration keys")
    return flatten_config(document)


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


def variable_key(name: str) -> str:
    """Return ``name`` as a scope-variable key: ``host`` -> ``<host>`` (``<host>`` unchanged)."""
    if name.startswith("<") and name.endswith(">"):
        return name
    return f"<{name}>"


def _parse_delimiter(key: str, value: object) -> str:
    if not isinstance(value, str) or len(value) != 1:
        raise ConfigError(key, value, "exactly one character, such as '.'")
    return value


@dataclass(frozen=True, slots=True)
class ReporterStats:
    """What the registry knows of one reporter.

    Attributes:
        name: the reporter's configured name.
        failures: spans that did not reach the reporter because building or handing them over
            raised (the reporter's own counters cover what happens after).
        last_error: ``"TypeName: message"`` of the latest failure, or ``None``.
    """

    name: str
    failures: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ReporterSetup:
    """One started reporter and its per-reporter settings.

    Build these by hand to assemble a registry in code (the reporter must already be open), or
    let :meth:`ReporterRegistry.from_config` build them.
    """

    name: str
    reporter: TraceReporter
    trace_filter: TraceFilter = field(default_factory=TraceFilter.allow_all)
    additional_variables: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = "."

    def __post_init__(self) -> None:
        variables = {variable_key(k): str(v) for k, v in self.additional_variables.items()}
        object.__setattr__(self, "additional_variables", MappingProxyType(variables))


class _Slot:
    """The registry's mutable bookkeeping for one reporter.

    Failures only: the hot path of a span that succeeds touches nothing here.
    """

    __slots__ = (
        "_last_log_s",
        "_lock",
        "_suppressed",
        "failures",
        "last_error",
        "notify",
        "setup",
    )

    def __init__(self, setup: ReporterSetup) -> None:
        self.setup = setup
        self.notify: Callable[[Span], None] = setup.reporter.notify_of_added_span
        self.failures = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._last_log_s = -_FAILURE_LOG_INTERVAL_S
        self._suppressed = 0

    def record_failure(self, exc: BaseException, span_name: str) -> None:
        # Telemetry never raises into the application: even this bookkeeping is guarded.
        try:
            with self._lock:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                now = time.monotonic()
                if now - self._last_log_s < _FAILURE_LOG_INTERVAL_S:
                    self._suppressed += 1
                    return
                suppressed, self._suppressed = self._suppressed, 0
                self._last_log_s = now
            _LOG.warning(
                "trace reporter %r failed on span %r (%d similar failures not logged in the "
                "last %.0f s; %d in total)",
                self.setup.name,
                span_name,
                suppressed,
                _FAILURE_LOG_INTERVAL_S,
                self.failures,
                exc_info=exc,
            )
        except Exception:  # noqa: BLE001, S110 - a broken logging setup must not escape either
            pass


class ReporterRegistry:
    """The started trace reporters; :class:`MetricGroup` roots hand their spans to it.

    Example:
        >>> from spanstream.schemas import Span
        >>> registry = ReporterRegistry.from_config({
        ...     "traces.reporter.mem.factory.class": "in_memory",
        ...     "traces.reporter.mem.scope.variables.additional": "region:eu-west-1",
        ... })
        >>> group = registry.root_group(variables={"host": "worker-1"})
        >>> group.add_span(Span.builder("app.Job", "Load"))
        >>> sorted(registry.reporter("mem").spans[0].attributes.items())
        [('<host>', 'worker-1'), ('<region>', 'eu-west-1')]
        >>> registry.close()
    """

    __slots__ = ("_closed", "_slots", "delimiter")

    def __init__(self, setups: Iterable[ReporterSetup] = (), *, delimiter: str = ".") -> None:
        self._slots: tuple[_Slot, ...] = tuple(_Slot(setup) for setup in setups)
        names = [slot.setup.name for slot in self._slots]
        if len(set(names)) != len(names):
            raise ValueError(f"reporter names must be unique, got {names}")
        self.delimiter = _parse_delimiter(_GLOBAL_DELIMITER_KEY, delimiter)
        """The delimiter that joins a group's logical scope for filtering (Flink's
        ``metrics.scope.delimiter``)."""
        self._closed = False

    # -- construction from configuration ---------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ReporterRegistry:
        """Create and open the reporters that ``config`` (flat or nested keys) describes.

        Raises:
            ConfigError: naming the key, the value and what is accepted, for an unknown
                reporter name or factory, a malformed pattern, variable list or delimiter, or
                a reporter that failed to start.
        """
        flat = flatten_config(config)
        delimiter = _parse_delimiter(_GLOBAL_DELIMITER_KEY, flat.get(_GLOBAL_DELIMITER_KEY, "."))
        sections: dict[str, dict[str, object]] = {}
        for key, value in flat.items():
            if key.startswith(_PREFIX):
                name, dot, rest = key[len(_PREFIX) :].partition(".")
                if not dot or not rest or not _NAME.fullmatch(name):
                    raise ConfigError(key, value, "a key 'traces.reporter.<name>.<parameter>'")
                sections.setdefault(name, {})[rest] = value
        names = _selected_names(flat, sections)
        setups: list[ReporterSetup] = []
        try:
            for name in names:
                setups.append(_start_reporter(name, sections[name]))  # noqa: PERF401 - closes on error
        except BaseException:
            for setup in setups:
                _close_quietly(setup)
            raise
        return cls(setups, delimiter=delimiter)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ReporterRegistry:
        """Create the reporters a Flink-style ``config.yaml`` describes (:func:`load_config`)."""
        return cls.from_config(load_config(path))

    # -- use ----------------------------------------------------------------------------------

    def root_group(
        self, *, name: str = "process", variables: Mapping[str, str | int] | None = None
    ) -> MetricGroup:
        """Return a new root :class:`MetricGroup` reporting to this registry."""
        from spanstream.producer._metric_group import MetricGroup

        return MetricGroup.root(name=name, variables=variables, registry=self)

    @property
    def names(self) -> tuple[str, ...]:
        """The reporters' names, in configuration order."""
        return tuple(slot.setup.name for slot in self._slots)

    @property
    def setups(self) -> tuple[ReporterSetup, ...]:
        """Every reporter with its settings."""
        return tuple(slot.setup for slot in self._slots)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; a closed registry reports nothing."""
        return self._closed

    def reporter(self, name: str) -> TraceReporter:
        """The reporter started under ``name``.

        Raises:
            KeyError: there is none (the message lists the names there are).
        """
        for slot in self._slots:
            if slot.setup.name == name:
                return slot.setup.reporter
        raise KeyError(f"no trace reporter named {name!r}; there are {list(self.names)}")

    def stats(self) -> dict[str, ReporterStats]:
        """Failures per reporter name (see :class:`ReporterStats`)."""
        return {
            slot.setup.name: ReporterStats(slot.setup.name, slot.failures, slot.last_error)
            for slot in self._slots
        }

    def close(self) -> None:
        """Close every reporter (each once; an exception from one is logged, not raised)."""
        if self._closed:
            return
        self._closed = True
        for slot in self._slots:
            slot.notify = _drop  # groups stop handing spans over without checking a flag
            _close_quietly(slot.setup)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[ReporterSetup]:
        return iter(self.setups)

    def __repr__(self) -> str:
        return f"ReporterRegistry(reporters={list(self.names)}, closed={self._closed})"


def _selected_names(flat: Mapping[str, object], sections: Mapping[str, object]) -> list[str]:
    value = flat.get(_REPORTERS_KEY)
    if value is None:
        return list(sections)
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = [name.strip() for name in value]
    else:
        raise ConfigError(_REPORTERS_KEY, value, "a comma-separated list of reporter names")
    for name in names:
        if name not in sections:
            configured = ", ".join(sorted(sections)) or "none"
            raise ConfigError(
                _REPORTERS_KEY,
                value,
                f"names of reporters configured under 'traces.reporter.<name>.' "
                f"(configured: {configured})",
            )
    return list(dict.fromkeys(names))


def _start_reporter(name: str, section: Mapping[str, object]) -> ReporterSetup:
    prefix = f"{_PREFIX}{name}."
    factory_key = prefix + _FACTORY
    if _FACTORY not in section:
        raise ConfigError(factory_key, None, _factory_expectation())
    factory = _load_factory(factory_key, section[_FACTORY])
    trace_filter = TraceFilter.parse(
        includes=section.get(_INCLUDES, "*:*:*"),
        excludes=section.get(_EXCLUDES, ""),
        includes_key=prefix + _INCLUDES,
        excludes_key=prefix + _EXCLUDES,
    )
    variables = _parse_variables(prefix + _ADDITIONAL, section.get(_ADDITIONAL, ""))
    delimiter = _parse_delimiter(prefix + _DELIMITER, section.get(_DELIMITER, "."))
    params = {k: v for k, v in section.items() if k not in _REGISTRY_KEYS}
    try:
        reporter = factory.create_trace_reporter(dict(params))
        reporter.open(MetricConfig(params, prefix=prefix))
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            factory_key,
            section[_FACTORY],
            f"a factory whose reporter starts (it raised {type(exc).__name__}: {exc})",
        ) from exc
    if not isinstance(reporter, TraceReporter):
        raise ConfigError(factory_key, section[_FACTORY], "a factory returning a TraceReporter")
    return ReporterSetup(name, reporter, trace_filter, variables, delimiter)


def _factory_expectation() -> str:
    names = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})
    return (
        f"an entry-point name in group {ENTRY_POINT_GROUP!r} ({', '.join(names) or 'none'}) "
        "or a Python path 'package.module:Factory' / 'package.module.Factory' of a "
        "TraceReporterFactory"
    )


def _load_factory(key: str, value: object) -> TraceReporterFactory:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, _factory_expectation())
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
            target = _entry_point(key, value, spec)
    except ConfigError:
        raise
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            key, value, f"{_factory_expectation()} ({type(exc).__name__}: {exc})"
        ) from exc
    factory = target() if isinstance(target, type) else target
    if not isinstance(factory, TraceReporterFactory):
        raise ConfigError(
            key, value, f"{_factory_expectation()}; {spec} has no create_trace_reporter method"
        )
    return factory


def _entry_point(key: str, value: object, name: str) -> object:
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == name:
            return entry_point.load()
    raise ConfigError(key, value, _factory_expectation())


def _drop(span: object) -> None:
    """What a closed registry's reporters receive: nothing."""


def _close_quietly(setup: ReporterSetup) -> None:
    try:
        setup.reporter.close()
    except Exception:  # noqa: BLE001 - one reporter failing to close must not stop the others
        _LOG.exception("trace reporter %r failed to close", setup.name)
