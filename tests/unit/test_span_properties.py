"""Property tests (hypothesis): whatever a builder is given, the span it builds is faithful."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from spanstream.schemas import Span, SpanBuilder

LONGS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
VALUES = st.one_of(st.text(), LONGS, st.floats(), st.booleans())
ATTRIBUTES = st.dictionaries(st.text(), VALUES, max_size=12)
TIMESTAMPS = st.integers(min_value=0, max_value=2**53)


def _same(a: object, b: object) -> bool:
    if type(a) is float and type(b) is float and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


@st.composite
def builders(draw: st.DrawFn, depth: int = 2) -> SpanBuilder:
    builder = Span.builder(draw(st.text(min_size=1)), draw(st.text()))
    if draw(st.booleans()):
        builder.set_start_ts_millis(draw(TIMESTAMPS))
    if draw(st.booleans()):
        builder.set_end_ts_millis(draw(TIMESTAMPS))
    builder.set_attributes(draw(ATTRIBUTES))
    if depth:
        builder.add_children(draw(st.lists(builders(depth - 1), max_size=3)))
    return builder


@given(builders())
@settings(max_examples=200)
def test_built_span_keeps_every_attribute_with_its_exact_type(builder):
    """Every attribute set survives build with its value and its exact type."""
    span = builder.build()
    assert span.attributes.keys() == builder.attributes.keys()
    assert all(_same(span.attributes[k], v) for k, v in builder.attributes.items())


@given(builders())
@settings(max_examples=200)
def test_defaults_follow_flink(builder):
    """Start is the set start (or, unset or 0, the build time); end the set end (or the start)."""
    span = builder.build()
    if builder.start_ts_millis:
        assert span.start_ts_millis == builder.start_ts_millis
    assert span.end_ts_millis == (builder.end_ts_millis or span.start_ts_millis)


@given(builders())
@settings(max_examples=200)
def test_tree_shape_is_kept_with_one_trace_id_and_unique_span_ids(builder):
    """Children keep their order and names; the tree shares one trace id; span ids differ."""
    span = builder.build()

    def shape(node: SpanBuilder | Span) -> tuple[object, ...]:
        children = node._children if isinstance(node, SpanBuilder) else node.children
        return (node.scope, node.name, tuple(shape(child) for child in children))

    assert shape(span) == shape(builder)
    nodes = [node for node, _, _ in span.walk()]
    assert {node.trace_id for node in nodes} == {span.trace_id}
    assert len({node.span_id for node in nodes}) == len(nodes)
    assert all(len(n.trace_id) == 16 and len(n.span_id) == 8 for n in nodes)


@given(builders(depth=1), ATTRIBUTES)
def test_extra_attributes_overwrite_the_span(builder, extra):
    """build(extra_attributes=) puts the variables over the builder's own (Flink's order)."""
    span = builder.build(extra_attributes=extra)
    for key, value in span.attributes.items():
        if key in extra:
            assert _same(value, extra[key])
        else:
            assert _same(value, builder.attributes[key])
    assert span.attributes.keys() == builder.attributes.keys() | extra.keys()


@given(builders())
@settings(max_examples=100)
def test_a_span_equals_its_hand_made_copy(builder):
    """Span(...) from a built span's fields equals it and hashes the same."""
    span = builder.build()
    copy = Span(
        span.scope,
        span.name,
        span.start_ts_millis,
        span.end_ts_millis,
        dict(span.attributes),
        span.children,
        span.trace_id,
        span.span_id,
    )
    assert copy == span
    assert hash(copy) == hash(span)
