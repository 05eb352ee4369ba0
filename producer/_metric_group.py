"""Flink's ``MetricGroup`` for traces: scope variables, child groups and ``add_span``.

``add_span`` is the hot path. Everything that does not depend on the span is computed once:
per (group, reporter) the merged variables, per (group, span name) the reporters whose filter
admits it. A span that passes costs one build, one dict lookup and one call per reporter, with
no lock taken (CPython's dict operations are atomic; two threads racing to fill the cache
compute the same value).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Final, ParamSpec, TypeVar, cast

from spanstream.producer._registry import ReporterRegistry, _Slot, variable_key
from spanstream.schemas import (
    AttributeValue,
    Span,
    SpanBuilder,
    new_span_id,
    new_trace_id,
    scope_name,
)

__all__ = ["EXCEPTION_MESSAGE", "EXCEPTION_TYPE", "MetricGroup", "SpanScope"]

EXCEPTION_TYPE: Final = "exception.type"
"""Attribute :meth:`MetricGroup.span` sets to an escaping exception's qualified class name
(OpenTelemetry's semantic-convention name)."""

EXCEPTION_MESSAGE: Final = "exception.message"
"""Attribute :meth:`MetricGroup.span` sets to ``str()`` of an escaping exception."""

_LOG = logging.getLogger("spanstream.producer")
_ROUTE_CACHE_MAX: Final = 4096  # span names are usually few; bound it if they are not

P = ParamSpec("P")
R = TypeVar("R")
_Route = tuple[tuple[_Slot, Mapping[str, AttributeValue]], ...]


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _check_variables(variables: Mapping[str, str | int] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in (variables or {}).items():
        if type(key) is not str or not key.strip("<>"):
            raise TypeError(f"scope variable names must be non-empty str, not {key!r}")
        if type(value) not in (str, int):
            raise TypeError(
                f"scope variable {key!r}: values must be str or int, not {type(value).__name__}"
            )
        checked[variable_key(key)] = str(value)
    return checked


def _qualified_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _check_name(what: str, name: object) -> str:
    if type(name) is not str or not name:
        raise TypeError(f"{what} must be a non-empty str, not {name!r}")
    return name


class MetricGroup:
    """A named group of a tree whose root carries scope variables (``<host>``, ``<job_id>``).

    Create a root with :meth:`root` (or :meth:`ReporterRegistry.root_group`); derive children
    with :meth:`add_group`. A group without a registry reports nothing (Flink's unregistered
    group).

    Example:
        >>> from spanstream.producer import InMemoryTraceReporter, ReporterRegistry, ReporterSetup
        >>> memory = InMemoryTraceReporter()
        >>> registry = ReporterRegistry([ReporterSetup("mem", memory)])
        >>> job = MetricGroup.root(name="jobmanager", variables={"host": "h1"}, registry=registry)
        >>> job = job.add_group("job").add_group("job_name", "etl")
        >>> job.logical_scope, dict(job.variables)
        ('jobmanager.job.job_name', {'<host>': 'h1', '<job_name>': 'etl'})
        >>> job.add_span(Span.builder("app.Etl", "Load").set_attribute("rows", 10))
        >>> dict(memory.spans[0].attributes)
        {'<host>': 'h1', '<job_name>': 'etl', 'rows': 10}
    """

    __slots__ = (
        "__weakref__",
        "_children",
        "_lock",
        "_logical_parts",
        "_name",
        "_parent",
        "_registry",
        "_routes",
        "_scope_components",
        "_slot_variables",
        "_variables",
    )

    def __init__(
        self,
        name: str,
        *,
        parent: MetricGroup | None,
        registry: ReporterRegistry | None,
        variables: Mapping[str, str],
        logical_parts: tuple[str, ...],
        scope_components: tuple[str, ...],
    ) -> None:
        """Internal: use :meth:`root` and :meth:`add_group`."""
        self._name = name
        self._parent = parent
        self._registry = registry
        self._variables: Mapping[str, str] = MappingProxyType(dict(variables))
        self._logical_parts = logical_parts
        self._scope_components = scope_components
        self._children: dict[str, MetricGroup] = {}
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        slots = registry._slots if registry is not None else ()
        # Flink 2.1: the reporter's additional variables, then the group's (the group's win).
        # Plain dicts, never handed out: merging a dict into a span's attributes is the fast path.
        self._slot_variables: tuple[tuple[_Slot, Mapping[str, AttributeValue]], ...] = tuple(
            (slot, {**slot.setup.additional_variables, **self._variables}) for slot in slots
        )

    # -- the tree ------------------------------------------------------------------------------

    @classmethod
    def root(
        cls,
        *,
        name: str = "process",
        variables: Mapping[str, str | int] | None = None,
        registry: ReporterRegistry | None = None,
    ) -> MetricGroup:
        """Return a root group.

        Args:
            name: the root's logical name, the first part of every logical scope below it
                (Flink's roots are ``jobmanager``, ``taskmanager``, ``process``).
            variables: scope variables, as ``{"host": "h1"}`` or ``{"<host>": "h1"}``; values
                are ``str`` (an ``int`` is turned into its decimal string).
            registry: where spans go; ``None`` for a group that reports nothing.
        """
        return cls(
            _check_name("group name", name),
            parent=None,
            registry=registry,
            variables=_check_variables(variables),
            logical_parts=(name,),
            scope_components=(name,),
        )

    def add_group(
        self,
        name: str,
        value: str | int | None = None,
        *,
        variables: Mapping[str, str | int] | None = None,
    ) -> MetricGroup:
        """Return the child group ``name`` (created once; later calls return the same group).

        ``add_group(key, value)`` is Flink's key/value group: the logical scope gains ``key``
        (not the value) and the returned group carries the variable ``<key>`` = ``value``.
        ``variables`` adds more scope variables to a new plain child (as Flink's job and task
        groups add ``<job_id>`` or ``<subtask_index>``); it is ignored for an existing one.
        """
        _check_name("group name", name)
        if value is None:
            return self._child(name, lambda: self._make_child(name, name, variables, key=None))
        if type(value) not in (str, int):
            raise TypeError(f"group value must be a str or int, not {type(value).__name__}")
        key_group = self._child(name, lambda: self._make_child(name, name, None, key=None))
        text = str(value)
        return key_group._child(
            text,
            lambda: key_group._make_child(text, text, {name: text}, key=name),
        )

    def _child(self, name: str, create: Callable[[], MetricGroup]) -> MetricGroup:
        child = self._children.get(name)
        if child is not None:
            return child
        with self._lock:
            child = self._children.get(name)
            if child is None:
                child = self._children[name] = create()
            return child

    def _make_child(
        self,
        name: str,
        component: str,
        variables: Mapping[str, str | int] | None,
        *,
        key: str | None,
    ) -> MetricGroup:
        # A value group (key is set) adds nothing to the logical scope: Flink filters on the
        # key, not on every value.
        return MetricGroup(
            name,
            parent=self,
            registry=self._registry,
            variables={**self._variables, **_check_variables(variables)},
            logical_parts=self._logical_parts if key is not None else (*self._logical_parts, name),
            scope_components=(*self._scope_components, component),
        )

    @property
    def name(self) -> str:
        """This group's own name (for a key/value group, the value)."""
        return self._name

    @property
    def parent(self) -> MetricGroup | None:
        """The parent group, ``None`` for a root."""
        return self._parent

    @property
    def registry(self) -> ReporterRegistry | None:
        """Where this group's spans go."""
        return self._registry

    @property
    def variables(self) -> Mapping[str, str]:
        """Every scope variable of this group and its ancestors, keys in angle brackets."""
        return self._variables

    @property
    def scope_components(self) -> tuple[str, ...]:
        """The names (and key/value values) from the root down: Flink's ``getScopeComponents``."""
        return self._scope_components

    @property
    def logical_scope(self) -> str:
        """The logical scope reporter filters match, e.g. ``taskmanager.job.task``.

        Group names joined by the registry's delimiter (``.`` by default); key/value groups
        contribute their key only.
        """
        delimiter = self._registry.delimiter if self._registry is not None else "."
        return delimiter.join(self._logical_parts)

    def get_logical_scope(self, delimiter: str = ".") -> str:
        """The logical scope joined with ``delimiter``."""
        return delimiter.join(self._logical_parts)

    def __repr__(self) -> str:
        return f"MetricGroup({self.logical_scope!r}, variables={dict(self._variables)})"

    # -- reporting ------------------------------------------------------------------------------

    def _route(self, name: str) -> _Route:
        registry = self._registry
        if registry is None:
            return ()
        scope = self.logical_scope
        route = tuple(
            (slot, variables)
            for slot, variables in self._slot_variables
            if slot.setup.trace_filter.matches(scope, name)
        )
        if len(self._routes) >= _ROUTE_CACHE_MAX:
            self._routes.clear()
        self._routes[name] = route
        return route

    def add_span(self, span: SpanBuilder | Span) -> None:
        """Report a span (a builder, or a finished span) to every reporter that admits it.

        Each reporter whose filter admits the group's logical scope and the span's name gets
        the span with this group's scope variables and the reporter's additional variables added
        as attributes. Every reporter receives the same trace id and span id.

        Never raises and never waits: a failure is logged (rate-limited) and counted per
        reporter in :meth:`ReporterRegistry.stats`.
        """
        try:
            name = span.name
            route = self._routes.get(name)
            if route is None:
                route = self._route(name)
        except Exception:  # noqa: BLE001 - not a builder, or a broken filter: drop, never raise
            _LOG.debug("add_span dropped %r", span, exc_info=True)
            return
        if not route:
            return
        if len(route) == 1:
            slot, variables = route[0]
            try:
                if type(span) is SpanBuilder:
                    slot.notify(span.build(extra_attributes=variables))
                else:
                    slot.notify(cast(Span, span).with_attributes(variables))
            except Exception as exc:  # noqa: BLE001
                slot.record_failure(exc, name)
            return
        self._add_to_many(span, name, route)

    def _add_to_many(self, span: SpanBuilder | Span, name: str, route: _Route) -> None:
        try:
            if type(span) is SpanBuilder:
                # Built once, so that children carry the same ids for every reporter.
                base = span.build(trace_id=new_trace_id(), span_id=new_span_id())
            else:
                base = cast(Span, span)
        except Exception as exc:  # noqa: BLE001
            for slot, _ in route:
                slot.record_failure(exc, name)
            return
        for slot, variables in route:
            try:
                slot.notify(base.with_attributes(variables))
            except Exception as exc:  # noqa: BLE001
                slot.record_failure(exc, name)

    # -- Pythonic forms ---------------------------------------------------------------------------

    def span(
        self,
        scope: type | str,
        name: str,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> SpanScope:
        """A context manager that times a block and reports it as a span on exit.

        Start and end are stamped on entry and exit (unless set on the builder inside). An
        escaping exception is recorded as ``exception.type`` / ``exception.message``
        attributes and re-raised.

        Example:
            >>> group = MetricGroup.root()
            >>> with group.span("app.Compactor", "Compaction") as span:
            ...     _ = span.set_attribute("files", 12)
        """
        builder = SpanBuilder(scope, name)
        if attributes:
            builder.set_attributes(attributes)
        return SpanScope(self, builder)

    def traced(
        self,
        scope: type | str,
        name: str | None = None,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A decorator reporting each call of a function (or coroutine function) as a span.

        ``name`` defaults to the function's qualified name. Exceptions are recorded as by
        :meth:`span` and re-raised.

        Example:
            >>> group = MetricGroup.root()
            >>> @group.traced("app.Loader", "Load")
            ... def load() -> int:
            ...     return 3
            >>> load()
            3
        """
        scope_text = scope_name(scope)
        frozen = dict(attributes or {})

        def decorate(function: Callable[P, R]) -> Callable[P, R]:
            span_name = name if name is not None else function.__qualname__
            if inspect.iscoroutinefunction(function):
                coroutine_function = cast(Callable[P, Awaitable[object]], function)

                @functools.wraps(function)
                async def traced_coroutine(*args: P.args, **kwargs: P.kwargs) -> object:
                    with self.span(scope_text, span_name, attributes=frozen):
                        return await coroutine_function(*args, **kwargs)

                return cast(Callable[P, R], traced_coroutine)

            @functools.wraps(function)
            def traced_function(*args: P.args, **kwargs: P.kwargs) -> R:
                with self.span(scope_text, span_name, attributes=frozen):
                    return function(*args, **kwargs)

            return traced_function

        return decorate


class SpanScope:
    """The context manager :meth:`MetricGroup.span` returns; ``as`` gives the builder."""

    __slots__ = ("_builder", "_group")

    def __init__(self, group: MetricGroup, builder: SpanBuilder) -> None:
        self._group = group
        self._builder = builder

    @property
    def builder(self) -> SpanBuilder:
        """The span being recorded."""
        return self._builder

    def __enter__(self) -> SpanBuilder:
        builder = self._builder
        if builder.start_ts_millis is None:
            builder.set_start_ts_millis(_now_millis())
        return builder

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        builder = self._builder
        try:
            if builder.end_ts_millis is None:
                builder.set_end_ts_millis(_now_millis())
            if exc_type is not None:
                builder.set_attribute(EXCEPTION_TYPE, _qualified_name(exc_type))
                builder.set_attribute(EXCEPTION_MESSAGE, str(exc))
        except Exception:  # noqa: BLE001 - telemetry must not replace the user's exception
            _LOG.debug("could not finish span %r", builder, exc_info=True)
        self._group.add_span(builder)
