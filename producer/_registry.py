"""The started trace and event reporters, from Flink's ``traces.*`` / ``events.*`` keys.

The keys, and how they are parsed, are in :mod:`spanstream.producer._reporter_setup` (one
parser serves both prefixes). A nested YAML document is flattened with dots first, so
``traces: {reporter: {log: {...}}}`` and ``traces.reporter.log...`` mean the same.

As in Flink (``MetricRegistryImpl``), filters match the group's logical scope joined with the
global ``metrics.scope.delimiter``; a reporter's own ``scope.delimiter`` is validated and kept in
:attr:`ReporterSetup.delimiter` for reporters that build scope strings of their own. The
registry's keys (``factory.class``, ``scope.*``, ``filter.*``) are not passed on to the
reporter, and a reporter whose factory declares its keys (``reporter_keys``) gets no other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Self

from spanstream.producer._reporter import EventReporter, TraceReporter
from spanstream.producer._reporter_setup import (
    ENTRY_POINT_GROUP,
    EVENT_ENTRY_POINT_GROUP,
    EVENTS,
    GLOBAL_DELIMITER_KEY,
    TRACES,
    ReporterKind,
    ReporterSetup,
    check_config,
    check_top_level_keys,
    close_quietly,
    flatten_config,
    load_config,
    parse_delimiter,
    parse_detail_level,
    reporter_sections,
    start_reporter,
    variable_key,
)
from spanstream.schemas import SpanKeyError, SpanValueError
from spanstream.schemas.system import CheckpointSpanDetailLevel

if TYPE_CHECKING:
    import os

    from spanstream.producer._metric_group import MetricGroup

__all__ = [
    "ENTRY_POINT_GROUP",
    "EVENT_ENTRY_POINT_GROUP",
    "ReporterRegistry",
    "ReporterSetup",
    "ReporterStats",
    "flatten_config",
    "load_config",
    "variable_key",
]

_LOG = logging.getLogger("spanstream.producer")
_FAILURE_LOG_INTERVAL_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class ReporterStats:
    """What the registry knows of one reporter.

    Attributes:
        name: the reporter's configured name.
        failures: spans (or events) that did not reach the reporter because building or
            handing them over raised (the reporter's own counters cover what happens after).
        last_error: ``"TypeName: message"`` of the latest failure, or ``None``.
    """

    name: str
    failures: int
    last_error: str | None


class _Slot:
    """The registry's mutable bookkeeping for one reporter.

    Failures only: the hot path of a span that succeeds touches nothing here.
    """

    __slots__ = (
        "_last_log_s",
        "_lock",
        "_suppressed",
        "failures",
        "kind",
        "last_error",
        "notify",
        "setup",
    )

    def __init__(self, setup: ReporterSetup[Any], kind: ReporterKind) -> None:
        self.setup = setup
        self.kind = kind
        # notify_of_added_span or notify_of_added_event: one bound method, looked up once.
        self.notify: Callable[[Any], None] = (
            setup.reporter.notify_of_added_span
            if kind is TRACES
            else setup.reporter.notify_of_added_event
        )
        self.failures = 0
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._last_log_s = -_FAILURE_LOG_INTERVAL_S
        self._suppressed = 0

    def record_failure(self, exc: BaseException, item_name: str) -> None:
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
                "%s reporter %r failed on %s %r (%d similar failures not logged in the "
                "last %.0f s; %d in total)",
                self.kind.what,
                self.setup.name,
                "span" if self.kind is TRACES else "event",
                item_name,
                suppressed,
                _FAILURE_LOG_INTERVAL_S,
                self.failures,
                exc_info=exc,
            )
        except Exception:  # noqa: BLE001, S110 - a broken logging setup must not escape either
            pass


class ReporterRegistry:
    """The started trace and event reporters; :class:`MetricGroup` roots hand items to it.

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

    __slots__ = (
        "_attribute_drops",
        "_closed",
        "_drop_lock",
        "_event_slots",
        "_slots",
        "checkpoint_span_detail_level",
        "delimiter",
    )

    def __init__(
        self,
        setups: Iterable[ReporterSetup[TraceReporter]] = (),
        *,
        delimiter: str = ".",
        event_setups: Iterable[ReporterSetup[EventReporter]] = (),
        checkpoint_span_detail_level: CheckpointSpanDetailLevel = (
            CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT
        ),
    ) -> None:
        self._slots: tuple[_Slot, ...] = tuple(_Slot(setup, TRACES) for setup in setups)
        self._event_slots: tuple[_Slot, ...] = tuple(_Slot(setup, EVENTS) for setup in event_setups)
        for slots in (self._slots, self._event_slots):
            names = [slot.setup.name for slot in slots]
            if len(set(names)) != len(names):
                raise SpanValueError(f"reporter names must be unique, got {names}")
        self.delimiter = parse_delimiter(GLOBAL_DELIMITER_KEY, delimiter)
        """The delimiter that joins a group's logical scope for filtering (Flink's
        ``metrics.scope.delimiter``)."""
        self.checkpoint_span_detail_level = CheckpointSpanDetailLevel(checkpoint_span_detail_level)
        """Flink's ``traces.checkpoint.span-detail-level``: how much of a checkpoint the
        ``Checkpoint`` span tree shows (for :func:`~spanstream.schemas.system.checkpoint_span`)."""
        self._closed = False
        self._attribute_drops = 0
        self._drop_lock = threading.Lock()

    # -- construction from configuration ---------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ReporterRegistry:
        """Create and open the reporters that ``config`` (flat or nested keys) describes.

        Raises:
            ConfigError: naming the key, the value and what is accepted, for an unknown key
                under ``traces.`` / ``events.`` or of a reporter (with the closest known key),
                an unknown reporter name or factory, a malformed pattern, variable list,
                delimiter or detail level, or a reporter that failed to start.
        """
        flat = flatten_config(config)
        check_top_level_keys(flat)
        delimiter = parse_delimiter(GLOBAL_DELIMITER_KEY, flat.get(GLOBAL_DELIMITER_KEY, "."))
        detail_level = parse_detail_level(flat)
        sections = {kind: reporter_sections(flat, kind) for kind in (TRACES, EVENTS)}
        started: dict[ReporterKind, list[ReporterSetup[Any]]] = {TRACES: [], EVENTS: []}
        try:
            for kind, named in sections.items():
                for name, section in named.items():
                    started[kind].append(start_reporter(kind, name, section))
        except BaseException:
            for setups in started.values():
                for setup in setups:
                    close_quietly(setup.name, setup.reporter)
            raise
        return cls(
            started[TRACES],
            delimiter=delimiter,
            event_setups=started[EVENTS],
            checkpoint_span_detail_level=detail_level,
        )

    @staticmethod
    def check_config(config: Mapping[str, object]) -> None:
        """Check ``config`` as :meth:`from_config` would, without starting any reporter.

        Every key (misspelled ones name the closest known key), factory, filter, variable
        list, delimiter and detail level is checked; the reporters' own values are checked
        when they open. ``spanstream demo --config`` calls it before it looks for a broker.

        Raises:
            ConfigError: naming the key, the value and what is accepted.
        """
        check_config(flatten_config(config))

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
        """The trace reporters' names, in configuration order."""
        return tuple(slot.setup.name for slot in self._slots)

    @property
    def event_names(self) -> tuple[str, ...]:
        """The event reporters' names, in configuration order."""
        return tuple(slot.setup.name for slot in self._event_slots)

    @property
    def setups(self) -> tuple[ReporterSetup[TraceReporter], ...]:
        """Every trace reporter with its settings."""
        return tuple(slot.setup for slot in self._slots)

    @property
    def event_setups(self) -> tuple[ReporterSetup[EventReporter], ...]:
        """Every event reporter with its settings."""
        return tuple(slot.setup for slot in self._event_slots)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called; a closed registry reports nothing."""
        return self._closed

    @property
    def attribute_drops(self) -> int:
        """Attribute values dropped by ``MetricGroup.span``/``traced`` because they were bad."""
        return self._attribute_drops

    def _count_attribute_drop(self, key: object, value: object) -> None:
        # Telemetry never raises into the application; the first drop is logged, the rest
        # counted (attribute_drops).
        try:
            with self._drop_lock:
                self._attribute_drops += 1
                first = self._attribute_drops == 1
            if first:
                _LOG.warning(
                    "dropped the span attribute %r: %s is not str, int (64-bit), float or bool "
                    "(later drops are counted in ReporterRegistry.attribute_drops, not logged)",
                    key,
                    type(value).__name__,
                )
        except Exception:  # noqa: BLE001, S110 - a broken logging setup must not escape either
            pass

    def reporter(self, name: str) -> TraceReporter:
        """The trace reporter started under ``name``.

        Raises:
            SpanKeyError: there is none (the message lists the names there are); it is a
                ``KeyError`` too.
        """
        return _named(self._slots, TRACES, name).setup.reporter  # type: ignore[no-any-return]

    def event_reporter(self, name: str) -> EventReporter:
        """The event reporter started under ``name``.

        Raises:
            SpanKeyError: there is none (the message lists the names there are); it is a
                ``KeyError`` too.
        """
        return _named(self._event_slots, EVENTS, name).setup.reporter  # type: ignore[no-any-return]

    def stats(self) -> dict[str, ReporterStats]:
        """Failures per trace reporter name (see :class:`ReporterStats`)."""
        return {slot.setup.name: _stats(slot) for slot in self._slots}

    def event_stats(self) -> dict[str, ReporterStats]:
        """Failures per event reporter name (see :class:`ReporterStats`)."""
        return {slot.setup.name: _stats(slot) for slot in self._event_slots}

    def close(self) -> None:
        """Close every reporter (each once; an exception from one is logged, not raised)."""
        if self._closed:
            return
        self._closed = True
        for slot in (*self._slots, *self._event_slots):
            slot.notify = _drop  # groups stop handing items over without checking a flag
            close_quietly(slot.setup.name, slot.setup.reporter)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[ReporterSetup[TraceReporter]]:
        return iter(self.setups)

    def __repr__(self) -> str:
        return (
            f"ReporterRegistry(reporters={list(self.names)}, "
            f"event_reporters={list(self.event_names)}, closed={self._closed})"
        )


def _named(slots: tuple[_Slot, ...], kind: ReporterKind, name: str) -> _Slot:
    """The slot of the reporter named ``name``; else a ``SpanKeyError`` listing the names."""
    for slot in slots:
        if slot.setup.name == name:
            return slot
    names = [slot.setup.name for slot in slots]
    raise SpanKeyError(f"no {kind.what} reporter named {name!r}; there are {names}")


def _stats(slot: _Slot) -> ReporterStats:
    return ReporterStats(slot.setup.name, slot.failures, slot.last_error)


def _drop(item: object) -> None:
    """What a closed registry's reporters receive: nothing."""
