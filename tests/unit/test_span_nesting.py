"""Nested ``group.span`` / ``@group.traced``: one tree per outermost span, through contextvars."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading

import pytest

from spanstream.producer import InMemoryTraceReporter, ReporterRegistry, ReporterSetup
from spanstream.schemas import MAX_SPAN_DEPTH, Span


@pytest.fixture
def memory() -> InMemoryTraceReporter:
    return InMemoryTraceReporter()


@pytest.fixture
def registry(memory: InMemoryTraceReporter) -> ReporterRegistry:
    return ReporterRegistry([ReporterSetup("mem", memory)])


def _shape(span) -> tuple[object, ...]:
    return (span.name, tuple(_shape(child) for child in span.children))


def test_a_span_inside_a_span_is_its_child_reported_once_with_the_outer(registry, memory):
    """The inner span is not reported on its own; the tree goes out when the outer ends."""
    group = registry.root_group()
    with group.span("app", "Outer"):
        with group.span("app", "Inner"):
            pass
        assert memory.spans == ()
    (root,) = memory.spans
    assert _shape(root) == ("Outer", (("Inner", ()),))
    assert root.children[0].trace_id == root.trace_id
    assert root.children[0].span_id != root.span_id


def test_a_traced_call_inside_a_span_is_its_child(registry, memory):
    """``@group.traced`` functions called inside a span nest too, at any depth."""
    group = registry.root_group()

    @group.traced("app", "Leaf")
    def leaf() -> int:
        return 1

    @group.traced("app", "Middle")
    def middle() -> int:
        return leaf() + leaf()

    with group.span("app", "Top"):
        assert middle() == 2
    (root,) = memory.spans
    assert _shape(root) == ("Top", (("Middle", (("Leaf", ()), ("Leaf", ()))),))


def test_nested_spans_of_another_group_join_the_outer_tree_with_its_variables(memory):
    """The tree is reported through the outermost span's group; every span carries its variables."""
    registry = ReporterRegistry([ReporterSetup("mem", memory)])
    job = registry.root_group(variables={"host": "h"}).add_group("job", variables={"job_id": "j"})
    task = job.add_group("task", variables={"subtask_index": 3})
    with job.span("app", "Job"), task.span("app", "Task"):
        pass
    (root,) = memory.spans
    assert root.attributes["jobId"] == "j"
    assert dict(root.children[0].attributes) == {"<host>": "h", "<job_id>": "j"}


def test_sequential_spans_are_separate_traces(registry, memory):
    """After the outer span ends, the next span is a new root."""
    group = registry.root_group()
    with group.span("app", "A"):
        pass
    with group.span("app", "B"):
        pass
    assert [s.name for s in memory.spans] == ["A", "B"]
    assert memory.spans[0].trace_id != memory.spans[1].trace_id


def test_concurrent_asyncio_tasks_each_build_their_own_tree(registry, memory):
    """Each task has its own context: interleaved spans do not adopt each other's children."""
    group = registry.root_group()

    async def job(name: str) -> None:
        with group.span("app", name):
            await asyncio.sleep(0)
            with group.span("app", f"{name}.step"):
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(job("a"), job("b"))

    asyncio.run(main())
    assert sorted(_shape(s) for s in memory.spans) == [
        ("a", (("a.step", ()),)),
        ("b", (("b.step", ()),)),
    ]


def test_tasks_started_inside_a_span_are_its_children(registry, memory):
    """asyncio tasks copy the context: their spans nest under the span that started them."""
    group = registry.root_group()

    @group.traced("app", "Fetch")
    async def fetch() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        with group.span("app", "Batch"):
            await asyncio.gather(fetch(), fetch())

    asyncio.run(main())
    (root,) = memory.spans
    assert _shape(root) == ("Batch", (("Fetch", ()), ("Fetch", ())))


def test_spans_in_other_threads_are_not_children_unless_the_context_is_passed(registry, memory):
    """A plain thread starts a fresh context; ``copy_context().run`` carries the open span."""
    group = registry.root_group()

    def work(name: str) -> None:
        with group.span("app", name):
            pass

    with group.span("app", "Main"):
        plain = threading.Thread(target=work, args=("Plain",))
        plain.start()
        plain.join()
        context = contextvars.copy_context()
        carried = threading.Thread(target=context.run, args=(work, "Carried"))
        carried.start()
        carried.join()
    assert sorted(_shape(s) for s in memory.spans) == [
        ("Main", (("Carried", ()),)),
        ("Plain", ()),
    ]


def test_a_child_that_ends_after_its_parent_is_reported_alone_in_the_parent_s_trace(
    registry, memory
):
    """A task that outlives its parent span is reported by itself, with the parent's trace id."""
    group = registry.root_group()

    async def slow() -> None:
        with group.span("app", "Late"):
            await asyncio.sleep(0.01)

    async def main() -> None:
        with group.span("app", "Parent"):
            task = asyncio.create_task(slow())
            await asyncio.sleep(0)
        await task

    asyncio.run(main())
    parent, late = memory.spans
    assert (parent.name, parent.children, late.name) == ("Parent", (), "Late")
    assert late.trace_id == parent.trace_id


def test_a_bad_attribute_value_in_a_span_is_dropped_counted_and_logged_once(
    registry, memory, caplog
):
    """``span.set_attribute(k, object())`` never raises: dropped, counted, one log line."""
    group = registry.root_group()
    with (
        caplog.at_level(logging.WARNING, logger="spanstream.producer"),
        group.span("app", "Load") as span,
    ):
        span.set_attribute("rows", 3)
        span.set_attribute("bad", object())  # type: ignore[arg-type]
        span.set_attribute("huge", 2**70)
        span.set_attribute(1, "x")  # type: ignore[arg-type]
    assert dict(memory.spans[0].attributes) == {"rows": 3}
    assert registry.attribute_drops == 3
    assert caplog.text.count("dropped the span attribute") == 1


def test_bad_attributes_given_to_span_and_traced_are_dropped_not_raised(registry, memory):
    """``attributes=`` of span() and traced() with a bad value: the rest is reported."""
    group = registry.root_group()

    @group.traced("app", "Call", attributes={"ok": 1, "bad": [1]})  # type: ignore[dict-item]
    def call() -> None:
        pass

    call()
    with group.span("app", "Block", attributes={"ok": 2, "bad": None}):  # type: ignore[dict-item]
        pass
    assert [dict(s.attributes) for s in memory.spans] == [{"ok": 1}, {"ok": 2}]
    assert registry.attribute_drops == 2


def test_an_exception_in_a_nested_span_is_recorded_on_it_and_re_raised(registry, memory):
    """The inner span records the exception; the outer records it too as it escapes."""
    group = registry.root_group()
    with pytest.raises(KeyError), group.span("app", "Outer"), group.span("app", "Inner"):
        raise KeyError("k")
    (root,) = memory.spans
    assert root.children[0].attributes["exception.type"] == "KeyError"
    assert root.attributes["exception.type"] == "KeyError"


def test_a_nested_span_that_cannot_be_built_is_counted_not_lost_silently(registry, memory):
    """A child too deep to build is counted as a reporter failure; the parent is still reported."""
    group = registry.root_group()
    with group.span("app", "Outer"), group.span("app", "Inner") as inner:
        deep = Span.builder("app", "d")
        for _ in range(MAX_SPAN_DEPTH + 1):
            deep = Span.builder("app", "d").add_child(deep)
        inner.add_child(deep)
    assert [s.name for s in memory.spans] == ["Outer"]
    assert registry.stats()["mem"].failures == 1
