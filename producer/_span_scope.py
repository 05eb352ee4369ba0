"""The open spans of ``MetricGroup.span`` and ``@MetricGroup.traced``, nested through contextvars.

A span opened while another is open (in the same thread, or in an asyncio task or a
``contextvars.copy_context()`` run started inside it) becomes a child of that span: Flink's
tree model. The tree is reported once, when the outermost span ends, through the outermost
span's group; every span in it carries that group's scope variables (as Flink 2.2+ gives
children the root's). A child that ends after its parent has already been reported (a task
that outlived the block that started it) is reported alone through its own group, with the
parent's trace id.

Ids are made only when something needs them: an event reported inside the span
(``MetricGroup.add_event`` takes the open span's trace and span ids), a child, or
:attr:`RecordingSpan.trace_id`. A root nobody asked about is reported by the plain
``add_span`` path.

A bad value given to a :class:`RecordingSpan` (``set_attribute``, ``attributes=``) never raises
into the application: it is dropped, counted in ``ReporterRegistry.attribute_drops``, and the
first one is logged.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from spanstream.schemas import AttributeValue, Span, SpanBuilder, new_span_id, new_trace_id

if TYPE_CHECKING:
    from spanstream.producer._metric_group import MetricGroup

__all__ = ["EXCEPTION_MESSAGE", "EXCEPTION_TYPE", "RecordingSpan", "SpanScope", "current_ids"]

EXCEPTION_TYPE: Final = "exception.type"
"""Attribute :meth:`MetricGroup.span` sets to an escaping exception's qualified class name
(OpenTelemetry's semantic-convention name)."""

EXCEPTION_MESSAGE: Final = "exception.message"
"""Attribute :meth:`MetricGroup.span` sets to ``str()`` of an escaping exception."""

_LOG = logging.getLogger("spanstream.producer")
_OPEN: contextvars.ContextVar[SpanScope | None] = contextvars.ContextVar(
    "spanstream_open_span", default=None
)


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _qualified_name(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def current_ids() -> tuple[bytes, bytes] | None:
    """The trace id and span id of the span open in this context, or ``None``."""
    scope = _OPEN.get()
    return None if scope is None else scope.ids()


class RecordingSpan:
    """The span being recorded inside ``with group.span(...) as span``.

    A :class:`~spanstream.schemas.SpanBuilder`'s setters, except that a bad value is dropped
    and counted instead of raised (telemetry never raises into the application).
    """

    __slots__ = ("_builder", "_scope")

    def __init__(self, scope: SpanScope) -> None:
        self._scope = scope
        self._builder = scope._builder

    @property
    def builder(self) -> SpanBuilder:
        """The underlying builder (its setters raise on a bad value)."""
        return self._builder

    @property
    def name(self) -> str:
        """The span's name."""
        return self._builder.name

    @property
    def scope(self) -> str:
        """The span's scope string."""
        return self._builder.scope

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        """A read-only view of the attributes set so far."""
        return self._builder.attributes

    @property
    def start_ts_millis(self) -> int | None:
        """The start (stamped on entry unless set before)."""
        return self._builder.start_ts_millis

    @property
    def end_ts_millis(self) -> int | None:
        """The end set so far, or ``None`` (then stamped on exit)."""
        return self._builder.end_ts_millis

    @property
    def trace_id(self) -> bytes:
        """The trace id the reported span (and its whole tree) will carry."""
        return self._scope.ids()[0]

    @property
    def span_id(self) -> bytes:
        """The span id the reported span will carry."""
        return self._scope.ids()[1]

    def set_attribute(self, key: str, value: AttributeValue) -> Self:
        """Set one attribute; a bad key or value is dropped and counted, never raised."""
        try:
            self._builder.set_attribute(key, value)
        except (TypeError, ValueError):
            self._scope.drop(key, value)
        return self

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> Self:
        """Set several attributes, each as by :meth:`set_attribute`."""
        try:
            items = list(attributes.items())
        except Exception:  # noqa: BLE001 - not a mapping: dropped like a bad value
            self._scope.drop("<attributes>", attributes)
            return self
        for key, value in items:
            self.set_attribute(key, value)
        return self

    def set_start_ts_millis(self, start_ts_millis: int) -> Self:
        """Set the start, in epoch milliseconds (a bad value is dropped and counted)."""
        return self._set_time(self._builder.set_start_ts_millis, "start_ts_millis", start_ts_millis)

    def set_end_ts_millis(self, end_ts_millis: int) -> Self:
        """Set the end, in epoch milliseconds (a bad value is dropped and counted)."""
        return self._set_time(self._builder.set_end_ts_millis, "end_ts_millis", end_ts_millis)

    def _set_time(self, setter: Callable[[int], object], key: str, ts_millis: int) -> Self:
        try:
            setter(ts_millis)
        except (TypeError, ValueError):
            self._scope.drop(key, ts_millis)
        return self

    def add_child(self, child: SpanBuilder | Span) -> Self:
        """Nest a child span explicitly (a bad child is dropped and counted)."""
        try:
            self._builder.add_child(child)
        except TypeError:
            self._scope.drop("<child>", child)
        return self

    def __repr__(self) -> str:
        return f"RecordingSpan({self._builder!r})"


class SpanScope:
    """The context manager :meth:`MetricGroup.span` returns; ``as`` gives a :class:`RecordingSpan`.

    Usable once. On entry it becomes the open span of the current context (a child of the span
    open there, if any); on exit it is reported (a root) or handed to its parent (a child).
    """

    __slots__ = (
        "_builder",
        "_finished",
        "_group",
        "_lock",
        "_parent",
        "_span_id",
        "_token",
        "_trace_id",
    )

    def __init__(self, group: MetricGroup, builder: SpanBuilder) -> None:
        self._group = group
        self._builder = builder
        self._parent: SpanScope | None = None
        self._token: contextvars.Token[SpanScope | None] | None = None
        self._lock = threading.Lock()
        self._finished = False
        self._trace_id: bytes | None = None
        self._span_id: bytes | None = None

    @property
    def builder(self) -> SpanBuilder:
        """The span being recorded."""
        return self._builder

    def drop(self, key: object, value: object) -> None:
        """Count (and log the first of) a bad value given to the span; never raises."""
        registry = self._group.registry
        if registry is not None:
            registry._count_attribute_drop(key, value)

    def ids(self) -> tuple[bytes, bytes]:
        """This span's trace id (its root's) and span id, made on first use."""
        root = self
        while root._parent is not None:
            root = root._parent
        with root._lock:
            if root._trace_id is None:
                root._trace_id = new_trace_id()
            trace_id = root._trace_id
        with self._lock:
            if self._span_id is None:
                self._span_id = new_span_id()
            return trace_id, self._span_id

    def __enter__(self) -> RecordingSpan:
        self._parent = _OPEN.get()
        self._token = _OPEN.set(self)
        if self._parent is not None:
            # A child fixes the tree's trace id now, so that it holds even if the child ends
            # after its parent has been reported (a task that outlived the block).
            self.ids()
        builder = self._builder
        if not builder.start_ts_millis:
            builder.set_start_ts_millis(_now_millis())
        return RecordingSpan(self)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._finish(exc_type, exc)
        except Exception:  # noqa: BLE001 - telemetry must not replace the user's exception
            _LOG.debug("could not report span %r", self._builder, exc_info=True)

    def _finish(self, exc_type: type[BaseException] | None, exc: BaseException | None) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                _OPEN.reset(token)
            except ValueError:  # exited in another context than it was entered in
                _OPEN.set(self._parent)
        builder = self._builder
        if not builder.end_ts_millis:
            builder.set_end_ts_millis(_now_millis())
        if exc_type is not None:
            builder.set_attribute(EXCEPTION_TYPE, _qualified_name(exc_type))
            builder.set_attribute(EXCEPTION_MESSAGE, str(exc))
        with self._lock:
            self._finished = True
        parent = self._parent
        if parent is None and self._trace_id is None:
            self._group.add_span(builder)  # nobody asked for the ids: the plain path
            return
        trace_id, span_id = self.ids()
        try:
            span = builder.build(trace_id=trace_id, span_id=span_id)
        except Exception:  # noqa: BLE001 - add_span counts and logs it per reporter, never raises
            self._group.add_span(builder)
            return
        if parent is None or not parent._adopt(span):
            self._group.add_span(span)

    def _adopt(self, child: Span) -> bool:
        """Nest a finished child; ``False`` if this span has been reported already."""
        with self._lock:
            if self._finished:
                return False
            self._builder.add_child(child)
            return True
