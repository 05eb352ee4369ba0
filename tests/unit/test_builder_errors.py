"""Span and Event builders reject bad arguments with the exact SpanstreamError subclass, on the C
path and on the Python reference alike (issue #13: every public entry point raises
SpanstreamError subclasses only).

SpanValueError is also a ValueError and SpanTypeError a TypeError, so callers that caught the
built-ins still do.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from spanstream.schemas import (
    Event,
    SchemaHistory,
    Span,
    SpanTypeError,
    SpanValueError,
    default_event_history,
)

# Every test here runs against each implementation, C and Python (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")

_BUILDER = ("app.Job", "Load")

CALLS: dict[str, tuple[Callable[[], object], type[Exception]]] = {
    "Span.builder(scope=3)": (lambda: Span.builder(3, "Load"), SpanTypeError),  # type: ignore[arg-type]
    "Span.builder(name=3)": (lambda: Span.builder("app.Job", 3), SpanTypeError),  # type: ignore[arg-type]
    "set_attribute(non-str key)": (
        lambda: Span.builder(*_BUILDER).set_attribute(1, "x"),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "set_attribute(bytes value)": (
        lambda: Span.builder(*_BUILDER).set_attribute("k", b"x"),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "set_attribute(int beyond 64 bits)": (
        lambda: Span.builder(*_BUILDER).set_attribute("k", 2**63),
        SpanValueError,
    ),
    "set_attributes(None value)": (
        lambda: Span.builder(*_BUILDER).set_attributes({"k": None}),  # type: ignore[dict-item]
        SpanTypeError,
    ),
    "set_start_ts_millis(float)": (
        lambda: Span.builder(*_BUILDER).set_start_ts_millis(1.5),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "set_end_ts_millis(beyond 64 bits)": (
        lambda: Span.builder(*_BUILDER).set_end_ts_millis(2**64),
        SpanValueError,
    ),
    "add_child(3)": (
        lambda: Span.builder(*_BUILDER).add_child(3),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "build(trace_id of 3 bytes)": (
        lambda: Span.builder(*_BUILDER).build(trace_id=b"abc"),
        SpanValueError,
    ),
    "Span(ids of the wrong size)": (
        lambda: Span("s", "n", 1, 2, {}, (), b"t", b"s"),
        SpanValueError,
    ),
    "Event.builder(name=3)": (lambda: Event.builder("app.Job", 3), SpanTypeError),  # type: ignore[arg-type]
    "EventBuilder.set_attribute(list value)": (
        lambda: Event.builder(*_BUILDER).set_attribute("k", [1]),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "EventBuilder.set_attribute(int beyond 64 bits)": (
        lambda: Event.builder(*_BUILDER).set_attribute("k", -(2**63) - 1),
        SpanValueError,
    ),
    "EventBuilder.set_body(3)": (
        lambda: Event.builder(*_BUILDER).set_body(3),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "EventBuilder.set_observed_ts_millis(str)": (
        lambda: Event.builder(*_BUILDER).set_observed_ts_millis("1"),  # type: ignore[arg-type]
        SpanTypeError,
    ),
    "EventBuilder.build(span_id of 3 bytes)": (
        lambda: Event.builder(*_BUILDER).build(span_id=b"abc"),
        SpanValueError,
    ),
    "SchemaHistory(current not among the versions)": (
        lambda: SchemaHistory(default_event_history().versions, current=99),
        SpanValueError,
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_bad_argument_raises_exactly_its_spanstream_error(name: str) -> None:
    """The builder raises its SpanstreamError subclass itself, not a plain built-in."""
    call, expected = CALLS[name]
    with pytest.raises(expected) as raised:
        call()
    assert type(raised.value) is expected
