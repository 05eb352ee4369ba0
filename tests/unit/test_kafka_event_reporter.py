"""The Kafka event reporter and the sender's lifecycle without a broker.

The broker here is an address nothing listens on, so every event stays queued; what crosses
the wire is tested in tests/integration/test_events_wire.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spanstream.producer import (
    HEADER_SCHEMA_FINGERPRINT,
    KafkaEventReporter,
    KafkaEventReporterFactory,
    KafkaTraceReporter,
    MetricConfig,
    ReporterStateError,
)
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_event_reporter import _EVENT_RECORDS
from spanstream.producer._kafka_producer import record_headers
from spanstream.producer._kafka_sender import SenderState
from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    SCHEMA_FINGERPRINT,
    ConfigError,
    Event,
    SpanstreamError,
)

PREFIX = "events.reporter.kafka."
UNREACHABLE = "127.0.0.1:1"


def event(**attributes: str | int | float | bool) -> Event:
    return Event.builder("app.Job", "Rescaled").set_attributes(attributes).build()


def settings(**values: object) -> MetricConfig:
    merged: dict[str, object] = {"bootstrap.servers": UNREACHABLE, "open.timeout.s": 0}
    merged.update({key.replace("__", "."): value for key, value in values.items()})
    return MetricConfig(merged, prefix=PREFIX)


@pytest.fixture
def reporter() -> Iterator[KafkaEventReporter]:
    reporter = KafkaEventReporter()
    reporter.open(settings(queue__max__spans=3))
    yield reporter
    reporter.close(0)


def test_factory_and_entry_point_give_an_unopened_event_reporter() -> None:
    """``spanstream.event_reporters``: ``kafka`` loads the factory; it makes a new reporter."""
    from importlib.metadata import entry_points

    (point,) = (e for e in entry_points(group="spanstream.event_reporters") if e.name == "kafka")
    assert point.load() is KafkaEventReporterFactory
    created = KafkaEventReporterFactory().create_event_reporter({})
    assert isinstance(created, KafkaEventReporter)
    assert "state='new'" in repr(created)


def test_events_go_to_their_own_topic_by_default(reporter: KafkaEventReporter) -> None:
    """Under events.reporter.<name>. the topic defaults to flink-events; the name is <name>."""
    assert "topic='flink-events'" in repr(reporter)
    assert "name='kafka'" in repr(reporter)


def test_the_event_reporter_counts_as_the_trace_reporter_does(
    reporter: KafkaEventReporter,
) -> None:
    """Beyond the queue bound events are dropped queue-full; the same counters, same invariant."""
    for _ in range(5):
        reporter.notify_of_added_event(event())
    stats = reporter.snapshot()
    assert (stats.notified, stats.accepted, stats.queued) == (5, 3, 3)
    assert stats.dropped == {"queue-full": 2}


def test_an_event_before_open_is_dropped_closed() -> None:
    """An event given to a reporter never opened is counted ``closed``."""
    reporter = KafkaEventReporter()
    reporter.notify_of_added_event(event())
    assert reporter.snapshot().dropped == {"closed": 1}


def test_close_drops_what_is_queued_and_counts_it(reporter: KafkaEventReporter) -> None:
    """Closing with the broker unreachable drops the queued events as ``closed``, counted."""
    reporter.notify_of_added_event(event())
    reporter.notify_of_added_event(event())
    assert reporter.close(0.2) == 2
    stats = reporter.snapshot()
    assert stats.dropped == {"closed": 2}
    assert stats.pending == 0


def test_opening_twice_is_a_spanstream_error(reporter: KafkaEventReporter) -> None:
    """A second open raises ReporterStateError, a SpanstreamError (and a RuntimeError)."""
    with pytest.raises(ReporterStateError, match="opens once") as caught:
        reporter.open(settings())
    assert isinstance(caught.value, SpanstreamError)
    assert isinstance(caught.value, RuntimeError)


def test_a_bad_setting_closes_the_reporter_for_good() -> None:
    """A ConfigError at open leaves the reporter CLOSED: events are dropped, no reopen."""
    reporter = KafkaTraceReporter()
    with pytest.raises(ConfigError):
        reporter.open(MetricConfig({"bootstrap.servers": ""}, prefix="traces.reporter.kafka."))
    assert reporter._sender.state is SenderState.CLOSED
    with pytest.raises(ReporterStateError):
        reporter.open(MetricConfig({"bootstrap.servers": UNREACHABLE}, prefix="traces."))


def test_the_sender_states_move_forward(reporter: KafkaEventReporter) -> None:
    """NEW before open, OPEN after it, CLOSED after close."""
    assert KafkaEventReporter()._sender.state is SenderState.NEW
    assert reporter._sender.state is SenderState.OPEN
    reporter.close(0)
    assert reporter._sender.state is SenderState.CLOSED


def test_an_event_record_says_it_is_an_event() -> None:
    """The fingerprint header of an event record is the event schema's, not the span's."""
    config = KafkaReporterConfig.from_metric_config(settings())
    headers = dict(record_headers(config, EVENT_SCHEMA_FINGERPRINT))
    assert headers[HEADER_SCHEMA_FINGERPRINT] == EVENT_SCHEMA_FINGERPRINT.hex().encode()
    assert headers[HEADER_SCHEMA_FINGERPRINT] != SCHEMA_FINGERPRINT.hex().encode()


def test_event_keys_follow_the_job_then_the_trace_then_the_event() -> None:
    """job-id: <job_id>, else the enclosing trace id, else the event id; none: no key."""
    config = KafkaReporterConfig.from_metric_config(settings())
    key_of = _EVENT_RECORDS.key_function(config)
    assert key_of(event(**{"<job_id>": "4f0c"})) == b"4f0c"
    in_trace = Event.builder("a", "b").build(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    assert key_of(in_trace) == (b"\x01" * 16).hex().encode()
    alone = event()
    assert key_of(alone) == alone.event_id.hex().encode()
    none = KafkaReporterConfig.from_metric_config(settings(key="none"))
    assert _EVENT_RECORDS.key_function(none)(alone) is None
