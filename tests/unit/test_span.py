"""Span and SpanBuilder: Flink's builder semantics, immutability, equality."""

from __future__ import annotations

import dataclasses
import math
import time

import pytest

from spanstream.schemas import MAX_SPAN_DEPTH, Span, SpanBuilder, SpanTooDeepError, scope_name


class Compactor:
    class Inner:
        pass


def _span(**attributes: object) -> Span:
    builder = Span.builder("s", "n").set_start_ts_millis(1).set_end_ts_millis(2)
    for key, value in attributes.items():
        builder.set_attribute(key, value)  # type: ignore[arg-type]
    return builder.build(trace_id=b"t" * 16, span_id=b"s" * 8)


def test_scope_from_class_is_its_module_qualified_name():
    """A class scope becomes ``module.QualName`` (Flink's canonical class name)."""
    assert Span.builder(Compactor, "x").scope == f"{__name__}.Compactor"
    assert scope_name(Compactor.Inner) == f"{__name__}.Compactor.Inner"


def test_scope_from_string_is_kept():
    """A string scope is used as given."""
    assert Span.builder("org.apache.flink.Foo", "x").build().scope == "org.apache.flink.Foo"


def test_scope_of_other_type_is_rejected():
    """A scope that is neither a class nor a str raises TypeError naming the type."""
    with pytest.raises(TypeError, match="int"):
        Span.builder(3, "x")  # type: ignore[arg-type]


def test_name_must_be_str():
    """A non-str span name raises TypeError."""
    with pytest.raises(TypeError, match="name"):
        Span.builder("s", None)  # type: ignore[arg-type]


def test_setters_chain_on_the_same_builder():
    """Every setter returns the builder itself."""
    builder = Span.builder("s", "n")
    assert builder.set_start_ts_millis(1) is builder
    assert builder.set_end_ts_millis(2) is builder
    assert builder.set_attribute("k", "v") is builder
    assert builder.set_attributes({"a": 1}) is builder
    assert builder.add_child(Span.builder("s", "c")) is builder
    assert builder.add_children([]) is builder


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"x", 1j, object()])
def test_unsupported_attribute_value_raises_type_error_naming_key_and_type(value):
    """Only str, int, float and bool are accepted; the error names the key and the type."""
    with pytest.raises(TypeError) as excinfo:
        Span.builder("s", "n").set_attribute("my.key", value)
    assert "my.key" in str(excinfo.value)
    assert type(value).__name__ in str(excinfo.value)


def test_non_str_attribute_key_raises_type_error():
    """An attribute key must be a str; the error names the key and its type."""
    with pytest.raises(TypeError, match=r"int.*42"):
        Span.builder("s", "n").set_attribute(42, "v")  # type: ignore[arg-type]


def test_int_subclass_is_rejected():
    """An int subclass (an IntEnum) is not an attribute value: it would not survive the wire."""
    import enum

    class Level(enum.IntEnum):
        LOW = 1

    with pytest.raises(TypeError, match="Level"):
        Span.builder("s", "n").set_attribute("level", Level.LOW)


def test_int_outside_long_range_is_rejected():
    """An int that does not fit Avro's long raises ValueError."""
    with pytest.raises(ValueError, match="64-bit"):
        Span.builder("s", "n").set_attribute("big", 2**63)


def test_bool_stays_bool():
    """A bool attribute stays a bool, and a span with True differs from one with 1."""
    span = _span(flag=True)
    assert type(span.attributes["flag"]) is bool
    assert span != _span(flag=1)


def test_later_attribute_value_replaces_earlier():
    """Setting a key twice keeps the last value."""
    assert _span(k="a").attributes["k"] == "a"
    builder = Span.builder("s", "n").set_attribute("k", "a").set_attribute("k", 2)
    assert builder.build().attributes["k"] == 2


def test_unset_start_is_the_build_time():
    """Flink's default: an unset start is the current time when built."""
    before = time.time_ns() // 1_000_000
    span = Span.builder("s", "n").build()
    after = time.time_ns() // 1_000_000
    assert before <= span.start_ts_millis <= after


def test_unset_end_equals_start():
    """Flink's default: an unset end equals the start."""
    span = Span.builder("s", "n").set_start_ts_millis(1234).build()
    assert span.end_ts_millis == 1234
    assert span.duration_millis == 0


def test_timestamps_must_be_int():
    """A non-int timestamp raises TypeError."""
    with pytest.raises(TypeError, match="start_ts_millis"):
        Span.builder("s", "n").set_start_ts_millis(1.5)  # type: ignore[arg-type]


def test_children_from_builders_and_spans_share_the_parent_trace_id():
    """add_child/add_children take builders and spans; the whole tree shares one trace id."""
    finished = Span.builder("s", "done").build()
    span = (
        Span.builder("s", "root")
        .add_child(Span.builder("s", "a").add_child(Span.builder("s", "a1")))
        .add_children([finished, Span.builder("s", "c")])
        .build()
    )
    assert [child.name for child in span.children] == ["a", "done", "c"]
    assert {s.trace_id for s, _, _ in span.walk()} == {span.trace_id}
    assert span.children[1].span_id == finished.span_id
    assert len({s.span_id for s, _, _ in span.walk()}) == 5


def test_child_of_other_type_is_rejected():
    """A child that is neither a builder nor a span raises TypeError."""
    with pytest.raises(TypeError, match="child"):
        Span.builder("s", "n").add_child("nope")  # type: ignore[arg-type]


def test_build_uses_given_ids():
    """build(trace_id=, span_id=) uses the ids given."""
    span = Span.builder("s", "n").build(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    assert (span.trace_id, span.span_id) == (b"\x01" * 16, b"\x02" * 8)


@pytest.mark.parametrize(
    ("trace_id", "span_id"), [(b"x", None), (None, b"y" * 9), ("t" * 16, None)]
)
def test_build_rejects_ids_of_wrong_size(trace_id, span_id):
    """Ids of the wrong size or type raise ValueError."""
    with pytest.raises(ValueError, match="bytes"):
        Span.builder("s", "n").build(trace_id=trace_id, span_id=span_id)


def test_extra_attributes_overwrite_the_span_and_reach_every_child():
    """build(extra_attributes=) is Flink's build(Map): the variable wins, on every span."""
    span = (
        Span.builder("s", "n")
        .set_attribute("<host>", "mine")
        .add_child(Span.builder("s", "c").add_child(Span.builder("s", "g")))
        .build(extra_attributes={"<host>": "group", "<job_id>": "j"})
    )
    expected = {"<host>": "group", "<job_id>": "j"}
    assert [dict(node.attributes) for node, _, _ in span.walk()] == [expected] * 3


def test_children_extra_attributes_replace_the_root_s_for_the_descendants():
    """children_extra_attributes= is what the children get (jobId stays on the root)."""
    finished_child = Span.builder("s", "done").build()
    span = (
        Span.builder("s", "n")
        .add_child(Span.builder("s", "c"))
        .add_child(finished_child)
        .build(
            extra_attributes={"jobId": "j", "<host>": "h"},
            children_extra_attributes={"<host>": "h"},
        )
    )
    assert dict(span.attributes) == {"jobId": "j", "<host>": "h"}
    assert [dict(child.attributes) for child in span.children] == [{"<host>": "h"}] * 2
    assert span.children[1].span_id == finished_child.span_id


def test_a_zero_start_is_now_and_a_zero_end_is_the_start():
    """As in Flink, an explicit timestamp of 0 means unset, on children too."""
    before = time.time_ns() // 1_000_000
    span = (
        Span.builder("s", "n")
        .set_start_ts_millis(0)
        .set_end_ts_millis(0)
        .add_child(Span.builder("s", "c").set_start_ts_millis(0))
        .build(trace_id=b"t" * 16)
    )
    assert span.start_ts_millis >= before
    assert span.end_ts_millis == span.start_ts_millis
    assert span.children[0].start_ts_millis >= before


def test_builder_reused_after_build_does_not_change_the_span():
    """A built span does not see later changes to its builder."""
    builder = Span.builder("s", "n").set_attribute("k", 1)
    span = builder.build()
    builder.set_attribute("k", 2).set_attribute("other", 3)
    assert dict(span.attributes) == {"k": 1}


def test_span_is_immutable():
    """Fields cannot be assigned and attributes cannot be changed."""
    span = _span(k=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        span.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        span.attributes["k"] = 2  # type: ignore[index]
    assert isinstance(span.children, tuple)


def test_hand_made_span_is_as_immutable_as_a_built_one():
    """Span(...) copies a dict of attributes into a read-only mapping and a list into a tuple."""
    attributes = {"k": 1}
    span = Span("s", "n", 1, 2, attributes, [], b"t" * 16, b"s" * 8)  # type: ignore[arg-type]
    attributes["k"] = 2
    assert span.attributes["k"] == 1
    assert span.children == ()


def test_self_containing_builder_fails_with_span_too_deep():
    """A builder nested in itself fails to build with SpanTooDeepError, not RecursionError."""
    builder = Span.builder("s", "loop")
    builder.add_child(builder)
    with pytest.raises(SpanTooDeepError):
        builder.build()


def test_tree_at_max_depth_builds():
    """A chain exactly MAX_SPAN_DEPTH deep builds."""
    root = Span.builder("s", "0")
    node = root
    for depth in range(MAX_SPAN_DEPTH):
        child = Span.builder("s", str(depth + 1))
        node.add_child(child)
        node = child
    assert max(depth for _, _, depth in root.build().walk()) == MAX_SPAN_DEPTH


def test_equality_is_structural_and_typed():
    """Equal fields make equal spans; an int attribute never equals a float or bool one."""
    assert _span(k=1) == _span(k=1)
    assert _span(k=1) != _span(k=1.0)
    assert _span(k=1) != _span(k=True)
    assert _span(k=math.nan) == _span(k=math.nan)


def test_hash_is_that_of_the_ids():
    """Spans hash by (trace_id, span_id), so equal spans hash equal and sets work."""
    assert hash(_span(k=1)) == hash(_span(k=2)) == hash((b"t" * 16, b"s" * 8))
    assert len({_span(k=1), _span(k=1)}) == 1


def test_repr_names_scope_name_and_ids():
    """repr shows scope/name, attributes and hex ids, for logs."""
    text = repr(_span(k=1))
    assert "s/n" in text
    assert "k=1" in text
    assert (b"t" * 16).hex() in text


def test_with_attributes_overwrites_keys_and_keeps_ids_and_children_ids():
    """Span.with_attributes puts the variables over every span's, keeping ids and times."""
    span = Span.builder("s", "n").set_attribute("k", 1).add_child(Span.builder("s", "c")).build()
    extended = span.with_attributes({"k": 0, "<host>": "h"})
    assert dict(extended.attributes) == {"<host>": "h", "k": 0}
    assert dict(extended.children[0].attributes) == {"k": 0, "<host>": "h"}
    assert (extended.trace_id, extended.span_id, extended.children[0].span_id) == (
        span.trace_id,
        span.span_id,
        span.children[0].span_id,
    )
    assert span.with_attributes({}) is span


def test_builder_exposes_what_was_set():
    """The builder's properties show what was set so far, read-only."""
    builder = Span.builder("s", "n").set_attribute("k", 1)
    assert (builder.scope, builder.name, builder.start_ts_millis, builder.end_ts_millis) == (
        "s",
        "n",
        None,
        None,
    )
    with pytest.raises(TypeError):
        builder.attributes["k"] = 2  # type: ignore[index]
    assert isinstance(builder, SpanBuilder)


def test_with_attributes_of_a_hand_made_tree_deeper_than_the_limit_raises_too_deep():
    """Putting variables over a hand-made over-deep tree fails as building one does."""
    span = Span.builder("s", "leaf").build()
    for _ in range(MAX_SPAN_DEPTH + 1):
        span = dataclasses.replace(span, children=(span,), span_id=b"s" * 8)
    with pytest.raises(SpanTooDeepError):
        span.with_attributes({"<host>": "h"})
