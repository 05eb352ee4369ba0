"""add_span from many threads at once: nothing lost, nothing mixed up."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from spanstream.producer import InMemoryTraceReporter, ReporterRegistry, ReporterSetup
from spanstream.schemas import Span

THREADS = 8
SPANS_PER_THREAD = 5_000


@pytest.fixture(autouse=True)
def _switch_threads_often() -> Iterator[None]:
    # Hand the GIL over as often as possible, so any unprotected read-modify-write shows up.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def test_add_span_from_eight_threads_loses_and_mixes_up_nothing():
    """8 threads x 5,000 spans: every span arrives once, with its own thread's attributes."""
    memory = InMemoryTraceReporter()
    second = InMemoryTraceReporter()
    registry = ReporterRegistry(
        [
            ReporterSetup("mem", memory, additional_variables={"region": "eu"}),
            ReporterSetup("second", second),
        ]
    )
    root = registry.root_group(variables={"host": "h1"})
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            group = root.add_group("thread", str(thread))
            start.wait()
            for seq in range(SPANS_PER_THREAD):
                builder = (
                    Span.builder("test.Hammer", f"span-{seq % 7}")
                    .set_attribute("thread", thread)
                    .set_attribute("seq", seq)
                    .set_attribute("tag", f"{thread}:{seq}")
                )
                if seq % 10 == 0:
                    builder.add_child(
                        Span.builder("test.Hammer", "child").set_attribute("seq", seq)
                    )
                group.add_span(builder)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for reporter in (memory, second):
        spans = reporter.spans
        assert len(spans) == THREADS * SPANS_PER_THREAD
        seen = set()
        for span in spans:
            thread, seq = span.attributes["thread"], span.attributes["seq"]
            assert span.attributes["<thread>"] == str(thread)
            assert span.attributes["tag"] == f"{thread}:{seq}"
            assert span.attributes["<host>"] == "h1"
            assert span.name == f"span-{seq % 7}"  # type: ignore[operator]
            assert len(span.children) == (1 if seq % 10 == 0 else 0)  # type: ignore[operator]
            seen.add((thread, seq))
        assert len(seen) == THREADS * SPANS_PER_THREAD
    assert all(span.attributes["<region>"] == "eu" for span in memory.spans)
    assert {s.span_id for s in memory.spans} == {s.span_id for s in second.spans}
    assert len({s.span_id for s in memory.spans}) == THREADS * SPANS_PER_THREAD
    assert all(stats.failures == 0 for stats in registry.stats().values())
