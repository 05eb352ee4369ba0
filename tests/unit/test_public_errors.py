"""Public entry points reject bad arguments with SpanstreamError subclasses (issue #13).

Each error is also the built-in its callers may already catch: SpanValueError is a ValueError,
SpanTypeError a TypeError.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

from spanstream.broker import LocalKafka
from spanstream.broker._properties import Listener
from spanstream.consumer import SpanConsumer, percentile, to_arrow
from spanstream.producer import (
    InMemoryTraceReporter,
    MetricGroup,
    ReporterRegistry,
    ReporterSetup,
    load_config,
)
from spanstream.schemas import (
    ConfigError,
    SpanKeyError,
    SpanstreamError,
    SpanTypeError,
    SpanValueError,
)
from spanstream.schemas.system import all_subtasks_status_change_event, job_status_change_event

NOWHERE = "127.0.0.1:9"  # nothing listens: no call below reaches the network


def _poll_zero_spans() -> None:
    with SpanConsumer("spans", bootstrap_servers=NOWHERE, group_id="g") as consumer:
        consumer.poll_batch(max_spans=0)


CALLS: dict[str, tuple[Callable[[], object], type[SpanstreamError]]] = {
    "poll_batch(max_spans=0)": (_poll_zero_spans, SpanValueError),
    "job_status_change_event(bad status)": (
        lambda: job_status_change_event(new_job_status="SLEEPING"),
        SpanValueError,
    ),
    "all_subtasks_status_change_event(bad status)": (
        lambda: all_subtasks_status_change_event(status="SOME"),
        SpanValueError,
    ),
    "MetricGroup.root(non-str name)": (
        lambda: MetricGroup.root(variables={1: "x"}),  # type: ignore[dict-item]
        SpanTypeError,
    ),
    "to_arrow(attributes='rows')": (
        lambda: to_arrow([], attributes="rows"),  # type: ignore[arg-type]
        SpanValueError,
    ),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_bad_argument_raises_a_spanstream_error(name: str) -> None:
    """The entry point raises its SpanstreamError subclass, naming the bad value."""
    call, expected = CALLS[name]
    with pytest.raises(expected) as raised:
        call()
    assert isinstance(raised.value, SpanstreamError)


def test_an_unknown_trace_reporter_name_raises_span_key_error() -> None:
    """registry.reporter(name) raises SpanKeyError naming the reporters there are."""
    registry = ReporterRegistry([ReporterSetup("mem", InMemoryTraceReporter())])
    with pytest.raises(SpanKeyError, match=r"no trace reporter named 'kafka'; there are \['mem'\]"):
        registry.reporter("kafka")


def test_an_unknown_event_reporter_name_raises_span_key_error() -> None:
    """registry.event_reporter(name) raises SpanKeyError, which `except KeyError` still sees."""
    registry = ReporterRegistry([ReporterSetup("mem", InMemoryTraceReporter())])
    with pytest.raises(KeyError) as raised:
        registry.event_reporter("log")
    assert isinstance(raised.value, SpanKeyError)
    assert str(raised.value) == "no event reporter named 'log'; there are []"


@pytest.mark.parametrize("fraction", [1.5, -0.1, float("nan")])
def test_a_percentile_outside_zero_to_one_raises_span_value_error(fraction: float) -> None:
    """percentile(values, fraction) rejects a fraction outside 0..1 (or NaN), naming it."""
    with pytest.raises(SpanValueError, match="fraction must be a number from 0 to 1"):
        percentile([1.0, 2.0], fraction)


def test_a_config_file_that_is_not_utf8_raises_config_error(tmp_path: Path) -> None:
    """load_config of a file with a non-UTF-8 byte raises ConfigError saying where, not what."""
    path = tmp_path / "config.yaml"
    path.write_bytes(b"traces.reporter.a.password: s3cr\xfft\n")
    with pytest.raises(ConfigError, match="not UTF-8 at byte 32") as raised:
        load_config(path)
    assert "s3cr" not in str(raised.value)


def test_an_unknown_listener_name_raises_span_value_error(tmp_path: Path) -> None:
    """LocalKafka.bootstrap_servers_for(name) names the extra listeners there are."""
    kafka = LocalKafka(tmp_path, base_port=41000, extra_listeners=(Listener("EXTRA", "PLAINTEXT"),))
    with pytest.raises(SpanValueError, match=r"no listener 'SASL_SSL'; there are \['EXTRA'\]"):
        kafka.bootstrap_servers_for("SASL_SSL")
