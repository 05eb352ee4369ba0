"""The builder's C fast path: ``Span.builder``, ``SpanBuilder.set_attribute``, the build (of a
builder and its builder children) and the id generator behave exactly as the Python reference,
and the caller's path stays in C.

The Python code in ``schemas/_span.py`` and ``schemas/_ids.py`` is the reference
(``_implementation.PYTHON``, and ``_implementation.use("python")`` for a whole build); the
accelerator must give the same spans and raise the same errors with the same messages.
"""

from __future__ import annotations

import enum
import gc
import multiprocessing
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spanstream.producer import ReporterRegistry
from spanstream.schemas import (
    SPEEDUPS,
    Span,
    SpanBuilder,
    _ids,
    _implementation,
    _span,
    decode_span,
    encode_span,
    new_span_id,
    new_trace_id,
)

needs_c = pytest.mark.skipif(not SPEEDUPS, reason="the C accelerator is not built or is disabled")

_LONG_MAX = 2**63 - 1
_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**63), max_value=_LONG_MAX),
    st.floats(allow_nan=False),
    st.booleans(),
)
_ATTRIBUTES = st.dictionaries(st.text(max_size=12), _VALUES, max_size=10)


@pytest.fixture
def python_build() -> Iterator[None]:
    """Builds in this test take the Python path (the reference)."""
    previous = _implementation.use("python")
    try:
        yield
    finally:
        _implementation.use(previous)


def _python_builder(scope: Any, name: Any) -> SpanBuilder:
    return _implementation.PYTHON.new_builder(scope, name)


def _fields(span: Span) -> tuple[object, ...]:
    """Everything but the random ids."""
    return (
        span.scope,
        span.name,
        span.start_ts_millis,
        span.end_ts_millis,
        {k: (type(v), v) for k, v in span.attributes.items()},
        span.children,
    )


def _reference_span(
    attributes: dict[str, Any], extra: dict[str, Any] | None, start: int | None, end: int | None
) -> Span:
    builder = _python_builder("app.Job", "Load")
    for key, value in attributes.items():
        _implementation.PYTHON.set_attribute(builder, key, value)
    if start is not None:
        builder.set_start_ts_millis(start)
    if end is not None:
        builder.set_end_ts_millis(end)
    previous = _implementation.use("python")
    try:
        return builder.build(extra_attributes=extra)
    finally:
        _implementation.use(previous)


@needs_c
def test_the_builder_methods_are_the_c_ones_when_the_accelerator_is_built() -> None:
    assert type(Span.builder).__name__ == "builtin_function_or_method"
    assert type(SpanBuilder.__dict__["set_attribute"]).__name__ == "method_descriptor"
    assert type(SpanBuilder.__dict__["add_child"]).__name__ == "method_descriptor"
    assert _span._fast_build is not None
    assert new_trace_id is not _ids.new_trace_id


def test_a_c_builder_starts_as_a_python_one() -> None:
    for scope in ("app.Job", SpanBuilder):
        fast, reference = Span.builder(scope, "Load"), _python_builder(scope, "Load")
        assert type(fast) is SpanBuilder
        assert repr(fast) == repr(reference)
        assert (fast.scope, fast.name, fast.start_ts_millis, fast.end_ts_millis) == (
            reference.scope,
            reference.name,
            None,
            None,
        )
        assert dict(fast.attributes) == {}


@given(_ATTRIBUTES, st.one_of(st.none(), st.dictionaries(st.text(max_size=12), st.text())))
def test_a_built_span_has_the_same_fields_on_both_paths(
    attributes: dict[str, Any], extra: dict[str, Any] | None
) -> None:
    fast_builder = Span.builder("app.Job", "Load").set_start_ts_millis(7).set_end_ts_millis(9)
    for key, value in attributes.items():
        fast_builder.set_attribute(key, value)
    fast = fast_builder.build(extra_attributes=extra)
    assert _fields(fast) == _fields(_reference_span(attributes, extra, 7, 9))
    assert type(fast.attributes) is type(_reference_span(attributes, extra, 7, 9).attributes)


def test_a_scope_variable_overwrites_the_span_s_own_attribute_on_both_paths() -> None:
    """Flink's order: variables are put after the attributes (the C path and the reference)."""
    extra = {"<host>": "group", "<job_id>": "j1"}
    fast = (
        Span.builder("app.Job", "Load")
        .set_attribute("<host>", "mine")
        .build(extra_attributes=extra)
    )
    reference = _reference_span({"<host>": "mine"}, extra, None, None)
    assert dict(fast.attributes) == dict(reference.attributes) == extra


@pytest.mark.parametrize(("start", "end"), [(0, 0), (0, 5), (5, 0)])
def test_a_zero_start_or_end_is_unset_on_both_paths(start: int, end: int) -> None:
    """As Flink's SpanBuilder: a start of 0 becomes now, an end of 0 becomes the start."""
    before = time.time_ns() // 1_000_000
    fast = Span.builder("app.Job", "Load").set_start_ts_millis(start).set_end_ts_millis(end)
    for span in (fast.build(), _reference_span({}, None, start, end)):
        expected_start = start or span.start_ts_millis
        assert span.start_ts_millis == expected_start
        if not start:
            assert span.start_ts_millis >= before
        assert span.end_ts_millis == (end or span.start_ts_millis)


def test_an_unset_start_is_now_and_an_unset_end_is_the_start() -> None:
    before = time.time_ns() // 1_000_000
    span = Span.builder("app.Job", "Load").build()
    after = time.time_ns() // 1_000_000
    assert before <= span.start_ts_millis <= after
    assert span.end_ts_millis == span.start_ts_millis
    ended = Span.builder("app.Job", "Load").set_end_ts_millis(after + 5).build()
    assert ended.end_ts_millis == after + 5


def test_built_spans_are_independent_of_their_builder() -> None:
    builder = Span.builder("app.Job", "Load").set_attribute("a", 1)
    first = builder.build(extra_attributes={"<host>": "h"})
    builder.set_attribute("a", 2)
    assert first.attributes["a"] == 1
    assert builder.build().attributes["a"] == 2
    assert first.span_id != builder.build().span_id


class _Color(enum.IntEnum):
    RED = 1


class _Ratio(float):
    pass


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (1, "x"),
        (None, 1),
        ("k", None),
        ("k", [1]),
        ("k", b"bytes"),
        ("k", _Color.RED),
        ("k", _Ratio(0.5)),
        ("k", 2**63),
        ("k", -(2**63) - 1),
    ],
)
def test_a_bad_attribute_is_the_same_error_on_both_paths(key: Any, value: Any) -> None:
    with pytest.raises((TypeError, ValueError)) as fast:
        Span.builder("app.Job", "Load").set_attribute(key, value)
    with pytest.raises((TypeError, ValueError)) as reference:
        _implementation.PYTHON.set_attribute(_python_builder("app.Job", "Load"), key, value)
    assert (type(fast.value), str(fast.value)) == (type(reference.value), str(reference.value))


def test_the_long_range_edges_are_accepted() -> None:
    span = (
        Span.builder("app.Job", "Load")
        .set_attribute("max", _LONG_MAX)
        .set_attribute("min", -(2**63))
        .build()
    )
    assert dict(span.attributes) == {"max": _LONG_MAX, "min": -(2**63)}


def test_keywords_and_wrong_argument_counts_behave_as_in_python() -> None:
    builder = Span.builder("app.Job", "Load")
    assert builder.set_attribute(key="a", value=1) is builder  # type: ignore[call-arg]
    assert builder.set_attribute("b", value=2.5) is builder  # type: ignore[call-arg]
    assert dict(builder.attributes) == {"a": 1, "b": 2.5}
    calls: list[Callable[[], object]] = [
        lambda: builder.set_attribute("a"),  # type: ignore[call-arg]
        lambda: builder.set_attribute("a", 1, 2),  # type: ignore[call-arg]
        lambda: builder.set_attribute("a", 1, bogus=2),  # type: ignore[call-arg]
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()


def test_a_bad_scope_or_name_is_the_python_error() -> None:
    with pytest.raises(TypeError, match="span name must be a str, not int: 3"):
        Span.builder("app.Job", 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scope must be a class or a str"):
        Span.builder(3, "Load")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Span.builder("app.Job")  # type: ignore[call-arg]


def test_ids_are_sized_non_zero_and_distinct() -> None:
    traces = {new_trace_id() for _ in range(20_000)}
    spans = {new_span_id() for _ in range(20_000)}
    assert len(traces) == len(spans) == 20_000
    assert {len(t) for t in traces} == {16}
    assert {len(s) for s in spans} == {8}
    assert bytes(16) not in traces
    assert bytes(8) not in spans


def _child_ids(queue: Any) -> None:
    queue.put([new_span_id() for _ in range(5)])


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_forked_child_does_not_repeat_its_parent_s_ids() -> None:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_ids, args=(queue,))
    child.start()
    parent = [new_span_id() for _ in range(5)]
    child_ids = queue.get(timeout=30)
    child.join(30)
    assert not set(parent) & set(child_ids)


@needs_c
def test_add_span_of_a_builder_runs_four_python_functions() -> None:
    """The caller's path: add_span, the builder's name property, build and the reporter's notify
    are the only Python calls; creating the builder, setting attributes, merging the scope
    variables and making the ids run in C."""
    registry = ReporterRegistry.from_config({"traces.reporter.mem.factory.class": "in_memory"})
    group = registry.root_group(variables={"host": "worker-1", "job_id": "j1"})
    builder_of = Span.builder
    group.add_span(builder_of("app.Job", "Load"))  # the route cache for the name
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection would run others' gc callbacks (hypothesis's) here
    sys.setprofile(profile)
    try:
        group.add_span(
            builder_of("app.Job", "Load")
            .set_attribute("checkpointId", 1)
            .set_attribute("fullSize", 123_456_789)
            .set_attribute("checkpointStatus", "COMPLETED")
            .set_attribute("isUnaligned", False)
            .set_attribute("alignmentRatio", 0.25)
        )
    finally:
        sys.setprofile(None)
        if gc_was_enabled:
            gc.enable()
    assert calls == ["add_span", "name", "build", "notify_of_added_span"]
    span = registry.reporter("mem").spans[-1]
    assert span.attributes["<host>"] == "worker-1"
    assert span.attributes["checkpointId"] == 1
    registry.close()


@needs_c
def test_spans_from_the_c_paths_are_left_out_of_the_cyclic_gc() -> None:
    """A span cannot be in a cycle; thousands alive in a queue or a batch cost no GC scans."""
    built = (
        Span.builder("app.Job", "Load").set_attribute("a", 1).build(extra_attributes={"<h>": "w"})
    )
    decoded = decode_span(encode_span(built))
    assert not gc.is_tracked(built)
    assert not gc.is_tracked(decoded)
    assert decoded == built


# Trees: a root and its builder children, as Flink 2.2+'s checkpoint spans (one child per task).

_Tree = tuple[dict[str, Any], int, int, list[Any]]
_TREES: st.SearchStrategy[_Tree] = st.recursive(
    st.tuples(_ATTRIBUTES, st.integers(1, 2**41), st.integers(0, 2**41), st.just([])),
    lambda children: st.tuples(
        _ATTRIBUTES, st.integers(1, 2**41), st.integers(0, 2**41), st.lists(children, max_size=4)
    ),
    max_leaves=12,
)
_VARIABLES = st.one_of(st.none(), st.dictionaries(st.text(max_size=6), st.text(max_size=6)))


def _builder_of(tree: _Tree, name: str = "root") -> SpanBuilder:
    attributes, start, end, children = tree
    builder = Span.builder("app.Job", name).set_start_ts_millis(start).set_end_ts_millis(end)
    builder.set_attributes(attributes)
    for i, child in enumerate(children):
        builder.add_child(_builder_of(child, f"{name}.{i}"))
    return builder


def _tree_fields(span: Span) -> tuple[object, ...]:
    """Everything but the random ids, the children's included."""
    return (*_fields(span)[:5], tuple(_tree_fields(child) for child in span.children))


def _python_built(builder: SpanBuilder, **kwargs: Any) -> Span:
    previous = _implementation.use("python")
    try:
        return builder.build(**kwargs)
    finally:
        _implementation.use(previous)


@given(_TREES, _VARIABLES, _VARIABLES)
def test_a_built_tree_has_the_same_fields_on_both_paths(
    tree: _Tree, extra: dict[str, Any] | None, children_extra: dict[str, Any] | None
) -> None:
    """Variables over every span's attributes (root-only ones on the root), times, nesting."""
    builder = _builder_of(tree)
    kwargs = {"extra_attributes": extra, "children_extra_attributes": children_extra}
    fast, reference = builder.build(**kwargs), _python_built(builder, **kwargs)
    assert _tree_fields(fast) == _tree_fields(reference)


@needs_c
def test_a_tree_built_in_c_shares_one_trace_id_and_has_distinct_span_ids() -> None:
    """Every span of the tree carries the root's trace id and a span id of its own."""
    root = Span.builder("app.Job", "Checkpoint")
    for task in range(8):
        root.add_child(Span.builder("app.Job", "Checkpoint_Task").set_attribute("task", task))
    span = root.build(extra_attributes={"<host>": "h", "jobId": "j"})
    spans = [s for s, _, _ in span.walk()]
    assert {s.trace_id for s in spans} == {span.trace_id}
    assert len({s.span_id for s in spans}) == len(spans) == 9
    assert not gc.is_tracked(span.children[0])


def test_a_finished_span_among_the_children_is_built_as_in_python() -> None:
    """The C path hands a tree with a finished Span child to the reference: restamped, merged."""
    done = Span.builder("app.Job", "Done").set_start_ts_millis(3).set_attribute("a", 1).build()
    builder = Span.builder("app.Job", "Root").set_start_ts_millis(2)
    builder.add_child(Span.builder("app.Job", "Task").set_start_ts_millis(4)).add_child(done)
    kwargs = {
        "extra_attributes": {"jobId": "j", "<h>": "w"},
        "children_extra_attributes": {"<h>": "w"},
    }
    fast, reference = builder.build(**kwargs), _python_built(builder, **kwargs)
    assert _tree_fields(fast) == _tree_fields(reference)
    assert fast.children[1].span_id == done.span_id
    assert fast.children[1].trace_id == fast.trace_id


def test_a_builder_that_contains_itself_is_the_same_error_on_both_paths() -> None:
    """Too deep a tree (here endless) is the reference's SpanTooDeepError, message and all."""
    builder = Span.builder("app.Job", "Loop")
    builder.add_child(builder)
    with pytest.raises(_span.SpanTooDeepError) as fast:
        builder.build()
    with pytest.raises(_span.SpanTooDeepError) as reference:
        _python_built(builder)
    assert str(fast.value) == str(reference.value)


@needs_c
def test_add_span_of_a_checkpoint_tree_runs_no_python_call_per_child() -> None:
    """Describing and adding a root with 8 task children: the four Python calls of a flat span."""
    registry = ReporterRegistry.from_config({"traces.reporter.mem.factory.class": "in_memory"})
    group = registry.root_group(variables={"host": "worker-1", "job_id": "j1"})
    builder_of = Span.builder
    group.add_span(builder_of("app.Job", "Checkpoint"))  # the route cache for the name
    keys = [f"attribute{i}" for i in range(14)]
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection would run others' gc callbacks (hypothesis's) here
    sys.setprofile(profile)
    try:
        root = builder_of("app.Job", "Checkpoint").set_attribute("checkpointId", 1)
        for task in range(8):
            child = builder_of("app.Job", "Checkpoint_Task")
            for i, key in enumerate(keys):
                child.set_attribute(key, task * 100 + i)
            root.add_child(child)
        group.add_span(root)
    finally:
        sys.setprofile(None)
        if gc_was_enabled:
            gc.enable()
    assert calls == ["add_span", "name", "build", "notify_of_added_span"]
    span = registry.reporter("mem").spans[-1]
    assert len(span.children) == 8
    assert span.children[7].attributes["<host>"] == "worker-1"
    registry.close()


class _SubBuilder(SpanBuilder):
    pass


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((3,), {}), ((None,), {}), (("Span",), {}), ((), {"child": 3}), ((), {}), ((1, 2), {})],
)
def test_a_bad_child_is_the_same_error_on_both_paths(args: Any, kwargs: Any) -> None:
    """``add_child`` of anything but a builder or a span raises the reference's TypeError."""
    with pytest.raises(TypeError) as fast:
        Span.builder("app.Job", "Root").add_child(*args, **kwargs)
    with pytest.raises(TypeError) as reference:
        _implementation.PYTHON.add_child(_python_builder("app.Job", "Root"), *args, **kwargs)
    assert str(fast.value) == str(reference.value)


def test_add_child_keeps_every_kind_of_child_in_order_on_both_paths() -> None:
    """A builder, a finished span and a builder subclass nest alike on the C and Python paths."""
    done = Span.builder("app.Job", "Done").set_start_ts_millis(3).build()
    fast, reference = Span.builder("app.Job", "Root"), _python_builder("app.Job", "Root")
    for child in (Span.builder("app.Job", "Task"), done, _SubBuilder("app.Job", "Sub")):
        assert fast.add_child(child) is fast
        assert _implementation.PYTHON.add_child(reference, child) is reference
    assert fast._children == reference._children
