"""Flink's ``MetricGroup`` for traces and events: scope variables, child groups, ``add_span``.

``add_span`` is the hot path. Everything that does not depend on the span is computed once:
per (group, reporter) the merged variables, per (group, span name) the reporters whose filter
admits it. A span that passes costs one build, one dict lookup and one call per reporter, with
no lock taken (CPython's dict operations are atomic; two threads racing to fill the cache
compute the same value).

A job group (the group whose own variables bring ``<job_id>``, as Flink's ``JobMetricGroup``
does) also puts ``jobId`` (the ``<job_id>`` value) on every root span and event it reports.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Final, ParamSpec, TypeVar, cast

from spanstream.producer._registry import ReporterRegistry, _Slot, variable_key
from spanstream.producer._span_scope import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
    SpanScope,
    current_ids,
)
from spanstream.schemas import (
    AttributeValue,
    Event,
    EventBuilder,
    Span,
    SpanBuilder,
    SpanTypeError,
    new_span_id,
    new_trace_id,
    scope_name,
)

__all__ = ["EXCEPTION_MESSAGE", "EXCEPTION_TYPE", "JOB_ID_ATTRIBUTE", "MetricGroup", "SpanScope"]

JOB_ID_ATTRIBUTE: Final = "jobId"
"""The attribute a job group puts on every root span and event (Flink's ``JobMetricGroup``)."""

_JOB_ID_VARIABLE: Final = "<job_id>"
_LOG = logging.getLogger("spanstream.producer")
_ROUTE_CACHE_MAX: Final = 4096  # span names are usually few; bound it if they are not

P = ParamSpec("P")
R = TypeVar("R")
# Per reporter: the slot, what the root gets (variables and jobId), what its children get.
_Target = tuple[_Slot, Mapping[str, AttributeValue], Mapping[str, AttributeValue]]
_Route = tuple[_Target, ...]


_Item = TypeVar("_Item", Span, Event)


def _fail_each(route: _Route, name: str, exc: Exception) -> None:
    """Count a span or event that could not be built as a failure of every reporter."""
    for slot, _, _ in route:
        slot.record_failure(exc, name)


def _hand_to_each(
    route: _Route,
    name: str,
    base: _Item,
    dress: Callable[[_Item, Mapping[str, AttributeValue], Mapping[str, AttributeValue]], _Item],
) -> None:
    """Give each reporter ``base`` dressed with its variables; a failure is its reporter's own."""
    for slot, root, children in route:
        try:
            slot.notify(dress(base, root, children))
        except Exception as exc:  # noqa: BLE001 - counted for this reporter, never raised
            slot.record_failure(exc, name)


def _event_with_variables(
    event: Event, root: Mapping[str, AttributeValue], children: Mapping[str, AttributeValue]
) -> Event:
    del children  # an event has none
    return event.with_attributes(root)


def _check_variables(variables: Mapping[str, str | int] | None) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in (variables or {}).items():
        if type(key) is not str or not key.strip("<>"):
            raise SpanTypeError(f"scope variable names must be non-empty str, not {key!r}")
        if type(value) not in (str, int):
            raise SpanTypeError(
                f"scope variable {key!r}: values must be str or int, not {type(value).__name__}"
            )
        checked[variable_key(key)] = str(value)
    return checked


def _check_name(what: str, name: object) -> str:
    if type(name) is not str or not name:
        raise SpanTypeError(f"{what} must be a non-empty str, not {name!r}")
    return name


class MetricGroup:
    """A named group of a tree whose root carries scope variables (``<host>``, ``<job_id>``).

    Create a root with :meth:`root` (or :meth:`ReporterRegistry.root_group`); derive children
    with :meth:`add_group`. A group without a registry reports nothing (Flink's unregistered
    group). The group whose own variables bring ``<job_id>`` is a job group: its root spans and
    events also get ``jobId`` (see :attr:`job_id`).

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
        {'rows': 10, '<host>': 'h1', '<job_name>': 'etl'}
    """

    __slots__ = (
        "__weakref__",
        "_children",
        "_event_routes",
        "_event_slot_variables",
        "_job_id",
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
        self._event_routes: dict[str, _Route] = {}
        # Flink's JobMetricGroup: the group that brings <job_id> (not its task and operator
        # groups, which inherit the variable) puts jobId on its root spans and events.
        job_id = variables.get(_JOB_ID_VARIABLE)
        if parent is not None and _JOB_ID_VARIABLE in parent.variables:
            job_id = None
        self._job_id = job_id
        self._slot_variables = self._targets(registry._slots if registry is not None else ())
        self._event_slot_variables = self._targets(
            registry._event_slots if registry is not None else ()
        )

    def _targets(self, slots: tuple[_Slot, ...]) -> _Route:
        # Flink 2.1: the group's variables minus the reporter's excludes, with the reporter's
        # additional variables (on a collision Flink's CompositeMap throws; the group's win
        # here). Plain dicts, never handed out: merging a dict into a span is the fast path.
        targets = []
        for slot in slots:
            excluded = slot.setup.excluded_variables
            variables: dict[str, AttributeValue] = {
                **slot.setup.additional_variables,
                **{k: v for k, v in self._variables.items() if k not in excluded},
            }
            root = (
                variables if self._job_id is None else {JOB_ID_ATTRIBUTE: self._job_id, **variables}
            )
            targets.append((slot, root, variables))
        return tuple(targets)

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
            raise SpanTypeError(f"group value must be a str or int, not {type(value).__name__}")
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
    def job_id(self) -> str | None:
        """The ``jobId`` this group puts on root spans and events, or ``None``.

        Set on the group whose own variables bring ``<job_id>`` (``add_group("job",
        variables={"job_id": ...})``, ``add_group("job_id", ...)`` or a root given it): Flink's
        ``JobMetricGroup``, whose ``jobId`` is the same 32-hex JobID string as ``<job_id>``.
        Task and operator groups below it inherit ``<job_id>`` but add no ``jobId``.
        """
        return self._job_id

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
        return self._route_in(name, self._slot_variables, self._routes)

    def _route_in(self, name: str, targets: _Route, cache: dict[str, _Route]) -> _Route:
        if self._registry is None:
            return ()
        scope = self.logical_scope
        route = tuple(
            target for target in targets if target[0].setup.trace_filter.matches(scope, name)
        )
        if len(cache) >= _ROUTE_CACHE_MAX:
            cache.clear()
        cache[name] = route
        return route

    def add_span(self, span: SpanBuilder | Span) -> None:
        """Report a span (a builder, or a finished span) to every reporter that admits it.

        Each reporter whose filter admits the group's logical scope and the span's name gets
        the span with this group's scope variables (minus the reporter's excludes) and the
        reporter's additional variables put over the attributes of every span in the tree, as
        Flink does (a variable overwrites a same-named attribute); a job group also puts
        ``jobId`` on the root. Every reporter receives the same trace id and span ids.

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
            slot, root, children = route[0]
            try:
                if type(span) is SpanBuilder:
                    slot.notify(
                        span.build(extra_attributes=root, children_extra_attributes=children)
                    )
                else:
                    slot.notify(cast(Span, span).with_attributes(root, children))
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
        except Exception as exc:  # noqa: BLE001 - counted for every reporter, never raised
            _fail_each(route, name, exc)
            return
        _hand_to_each(route, name, base, Span.with_attributes)

    def add_event(self, event: EventBuilder | Event) -> None:
        """Report an event (a builder, or a finished event) to every event reporter admitting it.

        Flink's ``MetricGroup.addEvent``: the event reporters' filters, excludes and additional
        variables work as for spans; the variables are put over the event's attributes, and a
        job group adds ``jobId``. An event built inside an open :meth:`span` (or
        :meth:`traced` call) carries that span's trace id and span id; every reporter gets the
        same event id.

        Never raises and never waits: a failure is logged (rate-limited) and counted per
        reporter in :meth:`ReporterRegistry.event_stats`.

        Example:
            >>> from spanstream.producer import InMemoryEventReporter, ReporterSetup
            >>> memory = InMemoryEventReporter()
            >>> registry = ReporterRegistry(event_setups=[ReporterSetup("mem", memory)])
            >>> job = registry.root_group(name="jobmanager").add_group(
            ...     "job", variables={"job_id": "6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d"})
            >>> with job.span("app.Job", "Restore"):
            ...     job.add_event(Event.builder("app.Job", "Rescaled").set_severity("INFO"))
            >>> event = memory.events[0]
            >>> event.attributes["jobId"], event.trace_id is not None
            ('6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d', True)
        """
        try:
            name = event.name
            route = self._event_routes.get(name)
            if route is None:
                route = self._route_in(name, self._event_slot_variables, self._event_routes)
            if not route:
                return
        except Exception:  # noqa: BLE001 - not a builder, or a broken filter: drop, never raise
            _LOG.debug("add_event dropped %r", event, exc_info=True)
            return
        try:
            if type(event) is EventBuilder:
                ids = current_ids()
                base = (
                    event.build() if ids is None else event.build(trace_id=ids[0], span_id=ids[1])
                )
            else:
                base = cast(Event, event)
        except Exception as exc:  # noqa: BLE001 - counted for every reporter, never raised
            _fail_each(route, name, exc)
            return
        _hand_to_each(route, name, base, _event_with_variables)

    # -- Pythonic forms ---------------------------------------------------------------------------

    def span(
        self,
        scope: type | str,
        name: str,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> SpanScope:
        """A context manager that times a block and reports it as a span on exit.

        Start and end are stamped on entry and exit (unless set inside). An escaping exception
        is recorded as ``exception.type`` / ``exception.message`` attributes and re-raised.
        Opened inside another span (of any group, in this thread or an asyncio task started in
        it), it becomes that span's child, and the tree is reported once, when the outermost
        span ends, through the outermost span's group. ``as`` gives a
        :class:`~spanstream.producer.RecordingSpan`, whose setters drop and count a bad value
        instead of raising.

        Example:
            >>> from spanstream.producer import InMemoryTraceReporter, ReporterSetup
            >>> memory = InMemoryTraceReporter()
            >>> group = ReporterRegistry([ReporterSetup("mem", memory)]).root_group()
            >>> with group.span("app.Compactor", "Compaction") as span:
            ...     _ = span.set_attribute("files", 12)
            ...     with group.span("app.Compactor", "Merge"):
            ...         pass
            >>> [(s.name, len(s.children)) for s in memory.spans]
            [('Compaction', 1)]
        """
        builder = SpanBuilder(scope, name)
        recorder = SpanScope(self, builder)
        if attributes:
            for key, value in dict(attributes).items():
                try:
                    builder.set_attribute(key, value)
                except (TypeError, ValueError):
                    recorder.drop(key, value)
        return recorder

    def traced(
        self,
        scope: type | str,
        name: str | None = None,
        *,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """A decorator reporting each call of a function (or coroutine function) as a span.

        ``name`` defaults to the function's qualified name. Exceptions are recorded as by
        :meth:`span` and re-raised; a call inside an open span becomes its child, as with
        :meth:`span`.

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
