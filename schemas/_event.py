"""The Event value and its builder: Flink's ``org.apache.flink.events`` model as pure data.

Flink 2.1 added an events API beside spans (FLIP-481): an event has a class scope, a name, an
observed time, a free-text body and severity, and attributes. An :class:`Event` is immutable
once built; :class:`EventBuilder` is its only mutable counterpart and checks every value as it
is set, as :class:`~spanstream.schemas.SpanBuilder` does.

Ids (spanstream's, Flink's events have none): every event gets a random 16-byte
``event_id``. An event reported while a span is open carries that span's ``trace_id`` and
``span_id``; any other event (Flink's own system events among them) has ``None`` for both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Self

from spanstream.schemas._attributes import (
    AttributeValue,
    NamedBuilder,
    attributes_text,
    check_ts,
    now_millis,
    same_fields,
    scope_name,
)
from spanstream.schemas._errors import SpanTypeError, SpanValueError
from spanstream.schemas._ids import SPAN_ID_BYTES, TRACE_ID_BYTES
from spanstream.schemas._implementation import new_trace_id

__all__ = ["EVENT_FIELDS", "EVENT_ID_BYTES", "Event", "EventBuilder", "new_event_id"]

EVENT_ID_BYTES: Final = 16
"""Size of an event id: 16 random bytes, never all zero."""

new_event_id = new_trace_id
"""Return a random, non-zero 16-byte event id (the same generator as trace ids)."""


def _check_optional_id(which: str, value: object, size: int) -> bytes | None:
    if value is None:
        return None
    if type(value) is not bytes or len(value) != size:
        raise SpanValueError(f"{which} must be None or {size} bytes, not {value!r}")
    return value


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Event:
    """One finished event: Flink's ``Event``, with an id (and the enclosing span's ids, if any).

    Build one with :meth:`Event.builder`. Every field is read-only; ``attributes`` is a
    read-only mapping. Equality is structural, as for spans; the hash is the event id's.

    Example:
        >>> event = (
        ...     Event.builder("my.app.Job", "Rescaled")
        ...     .set_observed_ts_millis(1_700_000_000_000)
        ...     .set_severity("INFO")
        ...     .set_attribute("parallelism", 4)
        ...     .build()
        ... )
        >>> event.name, event.observed_ts_millis, event.severity, dict(event.attributes)
        ('Rescaled', 1700000000000, 'INFO', {'parallelism': 4})
    """

    scope: str
    name: str
    observed_ts_millis: int
    body: str
    severity: str
    attributes: Mapping[str, AttributeValue]
    event_id: bytes
    trace_id: bytes | None = None
    span_id: bytes | None = None

    def __post_init__(self) -> None:
        if type(self.attributes) is not MappingProxyType:
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        if type(self.event_id) is not bytes or len(self.event_id) != EVENT_ID_BYTES:
            raise SpanValueError(f"event_id must be {EVENT_ID_BYTES} bytes, not {self.event_id!r}")
        _check_optional_id("trace_id", self.trace_id, TRACE_ID_BYTES)
        _check_optional_id("span_id", self.span_id, SPAN_ID_BYTES)

    @staticmethod
    def builder(scope: type | str, name: str) -> EventBuilder:
        """Start building an event, as Flink's ``Event.builder(Class, String)``."""
        return EventBuilder(scope, name)

    def with_attributes(self, variables: Mapping[str, AttributeValue]) -> Event:
        """Return this event with ``variables`` put over its attributes (Flink's order).

        Flink's ``EventBuilder.build(Map)`` puts scope variables after the user's attributes,
        so a variable overwrites an attribute of the same key. Ids and times are kept; the
        event itself is returned when ``variables`` is empty.
        """
        if not variables:
            return self
        return Event(
            self.scope,
            self.name,
            self.observed_ts_millis,
            self.body,
            self.severity,
            MappingProxyType({**self.attributes, **variables}),
            self.event_id,
            self.trace_id,
            self.span_id,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return same_fields(self, other, EVENT_FIELDS)

    def __hash__(self) -> int:
        return hash(self.event_id)

    def __repr__(self) -> str:
        return (
            f"Event({self.scope}/{self.name} observed={self.observed_ts_millis} "
            f"severity={self.severity!r} body={self.body!r} "
            f"attributes={attributes_text(self.attributes)} "
            f"event={self.event_id.hex()})"
        )


EVENT_FIELDS: Final = tuple(field.name for field in dataclasses.fields(Event))
"""Event's fields in positional order, read from the class body above: its one definition."""


def _check_text(which: str, value: object) -> str:
    if type(value) is not str:
        raise SpanTypeError(f"event {which} must be a str, not {type(value).__name__}: {value!r}")
    return value


class EventBuilder(NamedBuilder):
    """The mutable description of an event: Flink's ``EventBuilder``, chainable.

    Defaults follow Flink: an observed time of 0 or unset is the time of :meth:`build`; body
    and severity are ``""``. Attribute values are ``str``, ``int`` (a signed 64-bit long),
    ``float`` or ``bool``; anything else raises :class:`SpanTypeError` naming the key and the type.
    """

    __slots__ = ("_attributes", "_body", "_name", "_observed", "_scope", "_severity")

    def __init__(self, scope: type | str = "", name: str = "") -> None:
        self._scope = scope_name(scope)
        self._name = _check_text("name", name)
        self._observed = 0
        self._body = ""
        self._severity = ""
        self._attributes: dict[str, AttributeValue] = {}

    @property
    def observed_ts_millis(self) -> int:
        """The observed time set so far; 0 means unset (then :meth:`build` uses now)."""
        return self._observed

    @property
    def body(self) -> str:
        """The body set so far (``""`` by default)."""
        return self._body

    @property
    def severity(self) -> str:
        """The severity set so far (``""`` by default)."""
        return self._severity

    def set_observed_ts_millis(self, observed_ts_millis: int) -> Self:
        """Set the observed time, in epoch milliseconds (0 means unset, as in Flink)."""
        self._observed = check_ts("observed_ts_millis", observed_ts_millis)
        return self

    def set_name(self, name: str) -> Self:
        """Set the event's name."""
        self._name = _check_text("name", name)
        return self

    def set_class_scope(self, scope: type | str) -> Self:
        """Set the class scope (a class, or its name as a string)."""
        self._scope = scope_name(scope)
        return self

    def set_body(self, body: str) -> Self:
        """Set the free-text body."""
        self._body = _check_text("body", body)
        return self

    def set_severity(self, severity: str) -> Self:
        """Set the severity text, e.g. ``"INFO"``."""
        self._severity = _check_text("severity", severity)
        return self

    def build(
        self,
        *,
        variables: Mapping[str, AttributeValue] | None = None,
        event_id: bytes | None = None,
        trace_id: bytes | None = None,
        span_id: bytes | None = None,
    ) -> Event:
        """Return the finished, immutable event.

        Args:
            variables: scope variables put over the attributes (Flink's ``build(Map)``: a
                variable overwrites an attribute of the same key). The builder is not changed.
            event_id: the 16-byte event id; a fresh random one by default.
            trace_id: the enclosing span's 16-byte trace id, or ``None``.
            span_id: the enclosing span's 8-byte span id, or ``None``.
        """
        observed = self._observed or now_millis()
        attributes = {**self._attributes, **variables} if variables else self._attributes.copy()
        return Event(
            self._scope,
            self._name,
            observed,
            self._body,
            self._severity,
            MappingProxyType(attributes),
            new_event_id() if event_id is None else event_id,
            trace_id,
            span_id,
        )

    def __repr__(self) -> str:
        return (
            f"EventBuilder({self._scope}/{self._name} observed={self._observed} "
            f"attributes={len(self._attributes)})"
        )
