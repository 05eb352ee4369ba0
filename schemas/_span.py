"""The Span value and its builder: Flink's ``org.apache.flink.traces`` model as pure data.

A :class:`Span` is immutable once built. :class:`SpanBuilder` is the only mutable type; it
validates every value as it is set, so a built span always fits the wire contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Self

from spanstream.schemas import _ids
from spanstream.schemas._attributes import (
    LONG_MAX,
    LONG_MIN,
    AttributeValue,
    NamedBuilder,
    attributes_text,
    check_ts,
    now_millis,
    same_fields,
    scope_name,
)
from spanstream.schemas._errors import EncodeError, SpanTypeError, SpanValueError
from spanstream.schemas._ids import SPAN_ID_BYTES, TRACE_ID_BYTES

__all__ = [
    "MAX_SPAN_DEPTH",
    "SPAN_FIELDS",
    "AttributeValue",
    "Span",
    "SpanBuilder",
    "SpanTooDeepError",
    "scope_name",
]

MAX_SPAN_DEPTH: Final = 128
"""How deep a span tree may nest. Deeper trees (or a builder that contains itself) fail to build
with :class:`SpanTooDeepError` instead of exhausting the interpreter's recursion limit."""

_EMPTY_ATTRIBUTES: Final[Mapping[str, AttributeValue]] = MappingProxyType({})

# SpanBuilder.build() without given ids in C (the accelerator's ``build_tree``), or None.
_FastBuild = Callable[
    ["SpanBuilder", "Mapping[str, AttributeValue] | None", "Mapping[str, AttributeValue] | None"],
    "Span | None",
]


class SpanTooDeepError(EncodeError):
    """A span tree nests deeper than :data:`MAX_SPAN_DEPTH` (or contains itself)."""


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Span:
    """One finished span: Flink's ``Span``, with ids so consumers can key, dedupe and link.

    Build one with :meth:`Span.builder`. Every field is read-only; ``attributes`` is a
    read-only mapping and ``children`` a tuple. (With the C accelerator, a decoded tree's
    children are built when ``children`` is first read; their bytes were checked in full when
    the message was decoded, so reading them cannot fail.)

    Equality is structural (a ``bool`` attribute is never equal to an ``int`` one, and NaN
    equals NaN); the hash is that of ``(trace_id, span_id)``, consistent with equality.

    Example:
        >>> span = Span.builder("my.Job", "Compaction").set_start_ts_millis(1000).build()
        >>> (span.scope, span.name, span.start_ts_millis, span.end_ts_millis)
        ('my.Job', 'Compaction', 1000, 1000)
    """

    scope: str
    name: str
    start_ts_millis: int
    end_ts_millis: int
    attributes: Mapping[str, AttributeValue]
    children: tuple[Span, ...]
    trace_id: bytes
    span_id: bytes

    def __post_init__(self) -> None:
        # Cheap type checks keep a hand-made Span as immutable as a built one.
        if type(self.attributes) is not MappingProxyType:
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        if type(self.children) is not tuple:
            object.__setattr__(self, "children", tuple(self.children))
        if len(self.trace_id) != TRACE_ID_BYTES or len(self.span_id) != SPAN_ID_BYTES:
            raise SpanValueError(
                f"trace_id must be {TRACE_ID_BYTES} bytes and span_id {SPAN_ID_BYTES} bytes, "
                f"got {len(self.trace_id)} and {len(self.span_id)}"
            )

    @staticmethod
    def builder(scope: type | str, name: str) -> SpanBuilder:
        """Start building a span, as Flink's ``Span.builder(Class, String)``."""
        return SpanBuilder(scope, name)

    @property
    def duration_millis(self) -> int:
        """``end_ts_millis - start_ts_millis``."""
        return self.end_ts_millis - self.start_ts_millis

    def with_attributes(
        self,
        extra: Mapping[str, AttributeValue],
        children_extra: Mapping[str, AttributeValue] | None = None,
    ) -> Span:
        """Return this span with ``extra`` put over its attributes, and over its descendants'.

        Flink's order (``SpanBuilder.build(Map)``): scope variables are put after the span's own
        attributes, so a variable overwrites an attribute of the same key, and every child gets
        the same variables (Flink 2.2+). ``children_extra`` (default: ``extra``) is what the
        descendants get instead, for attributes that belong on the root only (``jobId``).

        Ids, times and children's ids are kept; the span itself is returned when there is
        nothing to add. ``MetricGroup.add_span`` uses it to give each reporter its own variables.
        """
        if children_extra is None:
            children_extra = extra
        if not extra and not children_extra:
            return self
        return _with_variables(self, extra, children_extra)

    def walk(self) -> Iterator[tuple[Span, Span | None, int]]:
        """Yield ``(span, parent, depth)`` for this span and every descendant, depth first."""
        stack: list[tuple[Span, Span | None, int]] = [(self, None, 0)]
        while stack:
            span, parent, depth = stack.pop()
            yield span, parent, depth
            stack.extend((child, span, depth + 1) for child in reversed(span.children))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return same_fields(self, other, SPAN_FIELDS)

    def __hash__(self) -> int:
        return hash((self.trace_id, self.span_id))

    def __repr__(self) -> str:
        return (
            f"Span({self.scope}/{self.name} start={self.start_ts_millis} "
            f"duration={self.duration_millis}ms attributes={attributes_text(self.attributes)} "
            f"children={len(self.children)} trace={self.trace_id.hex()} span={self.span_id.hex()})"
        )


SPAN_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Span))
"""Span's fields in positional order, read from the class body above: its one definition.

``__slots__`` (the dataclass's), :func:`_new_span`, the C accelerator's ``configure`` and the
decoder all follow it; tests/unit/test_span_fields.py checks each against it."""

# The slots' data descriptors, in SPAN_FIELDS order: setting them directly skips the frozen
# dataclass's __setattr__ and __init__'s checks.
_SLOT_SETTERS: Final = tuple(getattr(Span, name).__set__ for name in SPAN_FIELDS)
(
    _set_scope,
    _set_name,
    _set_start,
    _set_end,
    _set_attributes,
    _set_children,
    _set_trace_id,
    _set_span_id,
) = _SLOT_SETTERS
_object_new = object.__new__


def _new_span(  # noqa: PLR0917 - one positional per field, as Span(...)
    scope: str,
    name: str,
    start_ts_millis: int,
    end_ts_millis: int,
    attributes: Mapping[str, AttributeValue],
    children: tuple[Span, ...],
    trace_id: bytes,
    span_id: bytes,
) -> Span:
    """Construct a span from values already checked (a read-only mapping, a tuple, sized ids).

    The builder's and the decoder's fast path: it skips ``__init__``'s conversions and checks,
    which cost as much as the rest of a build. Its parameters are :data:`SPAN_FIELDS`.
    """
    span: Span = _object_new(Span)
    _set_scope(span, scope)
    _set_name(span, name)
    _set_start(span, start_ts_millis)
    _set_end(span, end_ts_millis)
    _set_attributes(span, attributes)
    _set_children(span, children)
    _set_trace_id(span, trace_id)
    _set_span_id(span, span_id)
    return span


def _restamp(span: Span, trace_id: bytes) -> Span:
    """Return ``span`` (and its descendants) carrying ``trace_id``; the same object if it does."""
    if span.trace_id == trace_id:
        return span
    return _new_span(
        span.scope,
        span.name,
        span.start_ts_millis,
        span.end_ts_millis,
        span.attributes,
        tuple(_restamp(child, trace_id) for child in span.children),
        trace_id,
        span.span_id,
    )


def _merged(
    attributes: Mapping[str, AttributeValue], extra: Mapping[str, AttributeValue]
) -> Mapping[str, AttributeValue]:
    """``attributes`` with ``extra`` put over them (Flink's order: the variable wins)."""
    if not extra:
        return attributes
    # A mappingproxy's copy() is its dict's copy: the fast way to take the span's own.
    merged: dict[str, AttributeValue] = attributes.copy()  # type: ignore[attr-defined]
    merged.update(extra)
    return MappingProxyType(merged)


def _with_variables(
    span: Span,
    extra: Mapping[str, AttributeValue],
    children_extra: Mapping[str, AttributeValue],
    depth: int = 0,
) -> Span:
    if depth > MAX_SPAN_DEPTH:  # a hand-made tree is not bounded by the builder
        raise SpanTooDeepError(
            f"span {span.scope}/{span.name}: children nest deeper than {MAX_SPAN_DEPTH} levels"
        )
    return _new_span(
        span.scope,
        span.name,
        span.start_ts_millis,
        span.end_ts_millis,
        _merged(span.attributes, extra),
        tuple(_with_variables(c, children_extra, children_extra, depth + 1) for c in span.children),
        span.trace_id,
        span.span_id,
    )


def _check_id(which: str, value: object, size: int) -> bytes:
    if type(value) is not bytes or len(value) != size:
        raise SpanValueError(f"{which} must be {size} bytes, not {value!r}")
    return value


class SpanBuilder(NamedBuilder):
    """The mutable description of a span: Flink's ``SpanBuilder``, chainable.

    Defaults follow Flink: an unset start (or 0) is the time of :meth:`build`; an unset end (or
    0) equals the start. Attribute values are ``str``, ``int`` (a signed 64-bit long),
    ``float`` or ``bool``; anything else raises :class:`SpanTypeError` naming the key and the type.

    Example:
        >>> span = (
        ...     Span.builder("my.app.Compactor", "Compaction")
        ...     .set_start_ts_millis(1_700_000_000_000)
        ...     .set_end_ts_millis(1_700_000_000_250)
        ...     .set_attribute("files", 12)
        ...     .add_child(Span.builder("my.app.Compactor", "Merge"))
        ...     .build()
        ... )
        >>> span.duration_millis, dict(span.attributes), span.children[0].name
        (250, {'files': 12}, 'Merge')
    """

    __slots__ = ("_attributes", "_children", "_end", "_name", "_scope", "_start")

    # What runs is chosen in one place, schemas/_implementation.py: with the C accelerator it
    # replaces ``Span.builder``, ``set_attribute`` and ``add_child`` on these classes with C
    # ones that do the plain case and call the Python below (the reference) for anything else,
    # and sets this module's hooks below the class (C builds without given ids, C ids).

    def __init__(self, scope: type | str, name: str) -> None:
        if type(name) is not str:
            raise SpanTypeError(f"span name must be a str, not {type(name).__name__}: {name!r}")
        self._scope = scope if type(scope) is str else scope_name(scope)
        self._name = name
        self._start: int | None = None
        self._end: int | None = None
        self._attributes: dict[str, AttributeValue] = {}
        self._children: list[SpanBuilder | Span] = []

    @property
    def start_ts_millis(self) -> int | None:
        """The start set so far, or ``None`` (then :meth:`build` uses the current time)."""
        return self._start

    @property
    def end_ts_millis(self) -> int | None:
        """The end set so far, or ``None`` (then :meth:`build` uses the start)."""
        return self._end

    def set_start_ts_millis(self, start_ts_millis: int) -> Self:
        """Set the start, in epoch milliseconds."""
        # The check is inlined for the common case: a call costs as much as the setter.
        if type(start_ts_millis) is not int or not LONG_MIN <= start_ts_millis <= LONG_MAX:
            check_ts("start_ts_millis", start_ts_millis)
        self._start = start_ts_millis
        return self

    def set_end_ts_millis(self, end_ts_millis: int) -> Self:
        """Set the end, in epoch milliseconds."""
        if type(end_ts_millis) is not int or not LONG_MIN <= end_ts_millis <= LONG_MAX:
            check_ts("end_ts_millis", end_ts_millis)
        self._end = end_ts_millis
        return self

    def add_child(self, child: SpanBuilder | Span) -> Self:
        """Nest a child span (a builder, built with this one, or a finished span)."""
        if not isinstance(child, SpanBuilder | Span):
            raise SpanTypeError(
                f"a child must be a SpanBuilder or a Span, not {type(child).__name__}: {child!r}"
            )
        self._children.append(child)
        return self

    def add_children(self, children: Iterable[SpanBuilder | Span]) -> Self:
        """Nest several children, in order."""
        for child in children:
            self.add_child(child)
        return self

    def build(
        self,
        *,
        extra_attributes: Mapping[str, AttributeValue] | None = None,
        trace_id: bytes | None = None,
        span_id: bytes | None = None,
        children_extra_attributes: Mapping[str, AttributeValue] | None = None,
    ) -> Span:
        """Return the finished, immutable span (and its children, sharing one trace id).

        Args:
            extra_attributes: attributes put over this span's own and its descendants' (Flink's
                ``build(Map)``: a variable overwrites an attribute of the same key, and every
                child gets the same variables, as in Flink 2.2+). ``MetricGroup.add_span``
                passes the group's scope variables (``<host>``, ``<job_id>``, ...) this way.
            trace_id: the tree's 16-byte trace id; a fresh random one by default.
            span_id: this span's 8-byte id; a fresh random one by default.
            children_extra_attributes: what the descendants get instead of
                ``extra_attributes`` (the default), for attributes of the root only (``jobId``).

        A start or end of 0 means unset, as in Flink: the start becomes the time of the build
        and the end becomes the start.

        Raises:
            SpanTooDeepError: the tree nests deeper than :data:`MAX_SPAN_DEPTH`.
        """
        fast_build = _fast_build
        if fast_build is not None and trace_id is None and span_id is None:
            span = fast_build(self, extra_attributes, children_extra_attributes)
            if span is not None:
                return span
        if trace_id is None:
            trace_id = _new_trace_id()
        else:
            _check_id("trace_id", trace_id, TRACE_ID_BYTES)
        if span_id is None:
            span_id = _new_span_id()
        else:
            _check_id("span_id", span_id, SPAN_ID_BYTES)
        extra = extra_attributes or _EMPTY_ATTRIBUTES
        children_extra = extra if children_extra_attributes is None else children_extra_attributes
        return self._build_at(trace_id, span_id, 0, extra, children_extra)

    def _build_at(
        self,
        trace_id: bytes,
        span_id: bytes,
        depth: int,
        extra: Mapping[str, AttributeValue],
        children_extra: Mapping[str, AttributeValue],
    ) -> Span:
        # Flink's order: the variables are put after the span's own attributes, so they win.
        attributes = {**self._attributes, **extra} if extra else self._attributes.copy()
        start = self._start or now_millis()  # 0 is unset, as in Flink
        return _new_span(
            self._scope,
            self._name,
            start,
            self._end or start,
            MappingProxyType(attributes) if attributes else _EMPTY_ATTRIBUTES,
            self._build_children(trace_id, depth + 1, children_extra) if self._children else (),
            trace_id,
            span_id,
        )

    def _build_children(
        self, trace_id: bytes, depth: int, extra: Mapping[str, AttributeValue]
    ) -> tuple[Span, ...]:
        if depth > MAX_SPAN_DEPTH:
            raise SpanTooDeepError(
                f"span {self._scope}/{self._name}: children nest deeper than {MAX_SPAN_DEPTH} "
                "levels (or a builder contains itself)"
            )
        children = []
        new_span_id = _new_span_id
        for child in self._children:
            if isinstance(child, Span):
                restamped = _restamp(child, trace_id)
                if extra:
                    restamped = _with_variables(restamped, extra, extra, depth)
                children.append(restamped)
            else:
                children.append(child._build_at(trace_id, new_span_id(), depth, extra, extra))
        return tuple(children)

    def __repr__(self) -> str:
        return (
            f"SpanBuilder({self._scope}/{self._name} start={self._start} end={self._end} "
            f"attributes={len(self._attributes)} children={len(self._children)})"
        )


# The builder's hooks, set by _implementation.use() alone (C when it is there, these Python
# ones otherwise): builds without given ids, and the id generator. Module globals rather than
# class attributes: build() is the caller's hot path, and a global is the cheapest lookup.
_fast_build: _FastBuild | None = None
_new_trace_id: Callable[[], bytes] = _ids.new_trace_id
_new_span_id: Callable[[], bytes] = _ids.new_span_id
