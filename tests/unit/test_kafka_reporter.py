"""The Kafka trace reporter without a broker: the caller's side, the counters, the deadlines.

The broker here is an address nothing listens on, so every span stays queued; what crosses the
wire is tested in tests/integration/test_kafka_reporter*.py.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from types import FrameType

import pytest
from _spans import numbered_span

from spanstream.producer import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
    KafkaReporterStats,
    KafkaTraceReporter,
    KafkaTraceReporterFactory,
    MetricConfig,
    TraceReporter,
)
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_reporter import _SPAN_RECORDS
from spanstream.producer._sender_counters import SenderCounters
from spanstream.schemas import SCHEMA_FINGERPRINT

PREFIX = "traces.reporter.kafka."
UNREACHABLE = "127.0.0.1:1"


span = numbered_span


def open_reporter(**settings: object) -> KafkaTraceReporter:
    values: dict[str, object] = {"bootstrap.servers": UNREACHABLE, "open.timeout.s": 0}
    values.update({key.replace("__", "."): value for key, value in settings.items()})
    reporter = KafkaTraceReporter()
    reporter.open(MetricConfig(values, prefix=PREFIX))
    return reporter


@pytest.fixture
def reporter() -> Iterator[KafkaTraceReporter]:
    reporter = open_reporter(queue__max__spans=10)
    yield reporter
    reporter.close(0)


def key_config(key: str) -> KafkaReporterConfig:
    return KafkaReporterConfig.from_metric_config(
        MetricConfig({"bootstrap.servers": UNREACHABLE, "key": key}, prefix=PREFIX)
    )


# -- the plugin ---------------------------------------------------------------------------------


def test_factory_creates_an_unopened_trace_reporter():
    """The ``kafka`` entry point's factory returns a TraceReporter not yet opened."""
    created = KafkaTraceReporterFactory().create_trace_reporter({})
    assert isinstance(created, KafkaTraceReporter)
    assert isinstance(created, TraceReporter)
    assert "state='new'" in repr(created)


def test_entry_point_resolves_to_the_factory():
    """``factory.class: kafka`` finds KafkaTraceReporterFactory through the entry point."""
    from importlib.metadata import entry_points

    (point,) = (e for e in entry_points(group="spanstream.trace_reporters") if e.name == "kafka")
    assert point.load() is KafkaTraceReporterFactory


def test_a_reporter_opens_once(reporter: KafkaTraceReporter):
    """A second open is a programming error, reported as such."""
    with pytest.raises(RuntimeError, match="opens once"):
        reporter.open(MetricConfig({"bootstrap.servers": UNREACHABLE}, prefix=PREFIX))


# -- the caller's side --------------------------------------------------------------------------


def test_notify_accepts_into_the_queue(reporter: KafkaTraceReporter):
    """A span notified while there is room is accepted and pending."""
    reporter.notify_of_added_span(span())
    stats = reporter.snapshot()
    assert (stats.notified, stats.accepted, stats.pending, stats.queued) == (1, 1, 1, 1)


def test_drop_newest_counts_queue_full(reporter: KafkaTraceReporter):
    """Beyond queue.max.spans the new spans are dropped and counted ``queue-full``."""
    for i in range(25):
        reporter.notify_of_added_span(span(i))
    stats = reporter.snapshot()
    assert stats.accepted == 10
    assert stats.rejected == 15
    assert stats.dropped == {"queue-full": 15}
    assert stats.queued == 10


def test_drop_oldest_evicts_the_oldest_queued_span():
    """Under drop-oldest the newest spans stay queued and the evicted ones are counted."""
    reporter = open_reporter(queue__max__spans=10, queue__overflow__policy="drop-oldest")
    try:
        spans = [span(i) for i in range(25)]
        for item in spans:
            reporter.notify_of_added_span(item)
        stats = reporter.snapshot()
        assert stats.accepted == 25
        assert stats.rejected == 0
        assert stats.dropped == {"queue-full": 15}
        assert list(reporter._sender.queue) == spans[15:]
    finally:
        reporter.close(0)


def test_notify_never_raises_whatever_it_is_given(reporter: KafkaTraceReporter):
    """Not-a-span values are taken without raising (the sender counts them later)."""
    for junk in (None, object(), "span", 42):
        reporter.notify_of_added_span(junk)  # type: ignore[arg-type]
    assert reporter.snapshot().accepted == 4


def test_notify_before_open_is_counted_closed():
    """A span given to a reporter never opened is dropped ``closed``."""
    reporter = KafkaTraceReporter()
    reporter.notify_of_added_span(span())
    assert reporter.snapshot().dropped == {"closed": 1}


def test_the_hot_path_calls_no_python_function(reporter: KafkaTraceReporter):
    """notify_of_added_span is the sender's offer: one Python call, only C (len, append) in it.

    A guard that does not depend on timing: a later change that adds work to the caller's
    path (a lock, a size estimate, a helper call) fails here.
    """
    reporter._sender.idle = False
    calls: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)
        elif event == "c_call":
            calls.append("C:" + getattr(arg, "__name__", "?"))

    item = span()
    sys.setprofile(profile)
    try:
        reporter.notify_of_added_span(item)
    finally:
        sys.setprofile(None)
    assert [c for c in calls if c != "C:setprofile"] == [
        "offer",
        "C:len",
        "C:append",
    ]


# -- counters -----------------------------------------------------------------------------------


def test_snapshot_is_a_frozen_value(reporter: KafkaTraceReporter):
    """The snapshot cannot be changed, nor can its mappings."""
    stats = reporter.snapshot()
    assert isinstance(stats, KafkaReporterStats)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.delivered = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        stats.dropped["closed"] = 1  # type: ignore[index]


def test_counters_stay_consistent_under_concurrent_callers():
    """Four threads notifying at once: every call counted exactly once, accepted or dropped."""
    reporter = open_reporter(queue__max__spans=30_000)
    item = span()
    per_thread = 20_000
    start = threading.Barrier(4)

    def notify() -> None:
        start.wait()
        for _ in range(per_thread):
            reporter.notify_of_added_span(item)

    threads = [threading.Thread(target=notify) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        stats = reporter.snapshot()
        assert stats.notified == 4 * per_thread
        assert stats.accepted + stats.rejected == 4 * per_thread
        assert stats.dropped_total == stats.rejected
        assert stats.accepted == stats.pending == stats.queued
        assert stats.accepted >= 30_000
    finally:
        pending = reporter.close(0)
    stats = reporter.snapshot()
    assert pending == stats.accepted
    assert stats.pending == 0
    assert stats.accepted == (
        stats.delivered + stats.failed_total + stats.dropped_after_accept + stats.pending
    )


# -- deadlines ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_flush_with_an_unreachable_broker_returns_the_pending_count(reporter: KafkaTraceReporter):
    """flush() gives up at its deadline and says how many spans are still pending."""
    for i in range(7):
        reporter.notify_of_added_span(span(i))
    assert reporter.flush(0.2) == 7
    assert reporter.snapshot().pending == 7


@pytest.mark.timeout(60)
def test_close_with_an_unreachable_broker_returns_and_drops_the_pending_spans():
    """close() returns at its deadline with the pending count; those spans become ``closed``."""
    reporter = open_reporter(queue__max__spans=100, open__timeout__s=0.5)
    for i in range(40):
        reporter.notify_of_added_span(span(i))
    assert reporter.close(0.5) == 40
    stats = reporter.snapshot()
    assert stats.pending == 0
    assert stats.dropped == {"closed": 40}
    assert stats.accepted == 40


@pytest.mark.timeout(60)
def test_close_uses_the_configured_timeout_by_default():
    """close() without an argument honours close.timeout.s."""
    reporter = open_reporter(close__timeout__s=0.2)
    reporter.notify_of_added_span(span())
    assert reporter.close() == 1


def test_second_close_is_harmless_and_spans_after_close_are_counted(
    reporter: KafkaTraceReporter,
):
    """A second close returns the first one's answer; later spans are dropped ``closed``."""
    reporter.notify_of_added_span(span())
    first = reporter.close(0)
    assert reporter.close(0) == first == 1
    reporter.notify_of_added_span(span())
    reporter.notify_of_added_span(span())
    stats = reporter.snapshot()
    assert stats.dropped == {"closed": 3}
    assert stats.rejected == 2
    assert stats.pending == 0
    assert reporter.flush(1) == 0


def test_close_stops_the_sender_thread(reporter: KafkaTraceReporter):
    """After close the sender thread is gone (it does not outlive the reporter)."""
    thread = reporter._sender.thread
    assert thread is not None
    assert thread.is_alive()
    reporter.close(0)
    thread.join(30)
    assert not thread.is_alive()


def test_close_of_a_never_opened_reporter_returns_zero():
    """Closing a reporter that never opened is harmless."""
    assert KafkaTraceReporter().close() == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_a_forked_child_does_not_send_the_parents_spans(reporter: KafkaTraceReporter):
    """In a forked child the reporter is closed: its spans are counted ``closed``, not sent."""
    reporter.notify_of_added_span(span())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            reporter.notify_of_added_span(span())
            stats = reporter.snapshot()
            ok = stats.dropped.get("closed") == 1 and stats.queued == 0
            ok = ok and reporter.close(5) == 0
            os.write(write_end, b"ok" if ok else repr(stats).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 4096)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"ok"
    assert reporter.snapshot().queued == 1  # the parent's span is still the parent's


# -- keys and headers ---------------------------------------------------------------------------


def test_job_id_key_is_the_job_id_attribute():
    """Strategy job-id keys a span by its ``<job_id>`` attribute."""
    key_of = _SPAN_RECORDS.key_function(key_config("job-id"))
    assert key_of(span(**{"<job_id>": "4f0c"})) == b"4f0c"


def test_job_id_key_falls_back_to_the_trace_id():
    """Without ``<job_id>`` the key is the trace id in hex."""
    item = span()
    assert _SPAN_RECORDS.key_function(key_config("job-id"))(item) == item.trace_id.hex().encode()


def test_trace_id_and_none_keys():
    """Strategy trace-id keys by the trace id; none gives no key."""
    item = span(**{"<job_id>": "j"})
    assert _SPAN_RECORDS.key_function(key_config("trace-id"))(item) == item.trace_id.hex().encode()
    assert _SPAN_RECORDS.key_function(key_config("none"))(item) is None


def test_attribute_key_renders_non_string_values():
    """Strategy attribute:<name> renders ints and booleans as text, else the trace id."""
    key_of = _SPAN_RECORDS.key_function(key_config("attribute:tenant"))
    assert key_of(span(tenant=42)) == b"42"
    assert key_of(span(tenant=True)) == b"true"
    assert key_of(span(tenant="acme")) == b"acme"
    item = span()
    assert key_of(item) == item.trace_id.hex().encode()


def test_headers_name_content_type_fingerprint_and_version():
    """Records carry the content type, the schema fingerprint (hex) and spanstream/<version>."""
    config = KafkaReporterConfig.from_metric_config(
        MetricConfig(
            {"bootstrap.servers": UNREACHABLE, "headers.additional": "env:prod"}, prefix=PREFIX
        )
    )
    headers = dict(_SPAN_RECORDS.headers(config))
    assert headers[HEADER_CONTENT_TYPE] == CONTENT_TYPE.encode()
    assert headers[HEADER_SCHEMA_FINGERPRINT] == SCHEMA_FINGERPRINT.hex().encode()
    assert headers[HEADER_PRODUCER].startswith(b"spanstream/")
    assert headers["env"] == b"prod"


@pytest.mark.timeout(120)
def test_a_reporter_left_open_is_closed_at_exit():
    """At interpreter exit an open reporter is closed (within close.timeout.s) and counts it."""
    script = textwrap.dedent(
        f"""
        import atexit
        from spanstream.producer import KafkaTraceReporter, MetricConfig
        from spanstream.schemas import Span

        reporter = KafkaTraceReporter()
        # Registered before open(): atexit runs it after the reporter's own exit hook.
        atexit.register(lambda: print("dropped", dict(reporter.snapshot().dropped)))
        reporter.open(MetricConfig(
            {{"bootstrap.servers": "{UNREACHABLE}", "open.timeout.s": 0, "close.timeout.s": 0.3}}
        ))
        for _ in range(3):
            reporter.notify_of_added_span(Span.builder("app.Job", "Step").build())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=100, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "dropped {'closed': 3}" in done.stdout
    assert "3 spans still pending at exit were dropped" in done.stderr


def test_delivered_is_derived_from_what_librdkafka_no_longer_holds() -> None:
    """Only failures are reported: delivered = produced - failed - held, and it only grows."""
    counters = SenderCounters()
    counters.produced, counters.produced_bytes = 10, 1000
    counters.settle(10)
    assert (counters.delivered, counters.delivered_bytes) == (0, 0)
    counters.settle(4)  # six acknowledged, no report
    assert counters.delivered == 6
    assert counters.delivered_bytes == 600  # in flight: the mean record size
    # A failure report is being served: the record is counted failed while librdkafka still
    # holds it, so for a moment the derived count is lower; the counter does not go back.
    counters.reported, counters.reported_bytes = 1, 100
    counters.settle(4)
    assert counters.delivered == 6
    counters.settle(0)
    assert (counters.delivered, counters.delivered_bytes) == (9, 900)  # exact when settled
