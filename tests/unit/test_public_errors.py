"""Public entry points reject bad arguments with SpanstreamError subclasses (issue #13).

Each error is also the built-in its callers may already catch: SpanValueError is a ValueError,
SpanTypeError a TypeError.
"""

from collections.abc import Callable

import pytest

from spanstream.consumer import SpanConsumer, to_arrow
from spanstream.producer import MetricGroup
from spanstream.schemas import SpanstreamError, SpanTypeError, SpanValueError
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
