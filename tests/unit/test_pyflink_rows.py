"""The rows a PyFlink job reads from the span topic (span_row_values, checkpoint event time):
pure functions over encoded records; the jobs themselves run in tests/integration."""

from __future__ import annotations

from spanstream.consumer import (
    SPAN_ROW_FIELDS,
    checkpoint_event_time_millis,
    span_row_values,
)
from spanstream.schemas import Span, encode_span
from spanstream.schemas.system import checkpoint_span


def test_one_row_per_span_children_after_their_parent():
    """A root and its child: two rows, the child naming the root as parent at depth 1."""
    span = (
        Span.builder("app.Job", "Load")
        .set_start_ts_millis(100)
        .set_end_ts_millis(160)
        .set_attribute("rows", 10)
        .set_attribute("ok", True)
        .set_attribute("ratio", 0.5)
        .add_child(Span.builder("app.Job", "Read").set_start_ts_millis(100).set_end_ts_millis(120))
        .build()
    )
    root, child = (
        dict(zip(SPAN_ROW_FIELDS, row, strict=True)) for row in span_row_values(encode_span(span))
    )
    assert root["trace_id"] == span.trace_id.hex() == child["trace_id"]
    assert (root["span_id"], root["parent_span_id"], root["depth"]) == (span.span_id.hex(), None, 0)
    assert (child["parent_span_id"], child["depth"], child["name"]) == (
        span.span_id.hex(),
        1,
        "Read",
    )
    assert (root["start_ts_millis"], root["end_ts_millis"], root["duration_millis"]) == (
        100,
        160,
        60,
    )
    assert root["attributes"] == {"rows": "10", "ok": "true", "ratio": "0.5"}


def test_a_record_that_is_not_a_span_gives_no_row():
    """Garbage is left out, not raised: the job goes on."""
    assert span_row_values(b"not a span") == []


def test_checkpoint_event_time_is_the_end_or_the_trigger_when_unacknowledged():
    """End for an acknowledged checkpoint; the trigger time when the end is -1; -1 for others."""
    done = checkpoint_span(
        checkpoint_id=1,
        trigger_ts_millis=1_000,
        latest_ack_ts_millis=1_400,
        full_size_bytes=1,
        checkpointed_size_bytes=1,
    ).build()
    lost = checkpoint_span(
        checkpoint_id=2,
        trigger_ts_millis=2_000,
        latest_ack_ts_millis=-1,
        full_size_bytes=1,
        checkpointed_size_bytes=1,
        status="FAILED",
    ).build()
    assert checkpoint_event_time_millis(encode_span(done)) == 1_400
    assert checkpoint_event_time_millis(encode_span(lost)) == 2_000
    assert checkpoint_event_time_millis(encode_span(Span.builder("a.B", "C").build())) == -1
    assert checkpoint_event_time_millis(b"garbage") == -1


def test_a_window_of_spans_with_only_jobid_is_summarised_under_that_job():
    """1.20/2.0 spans have jobId and no <job_id>: keyed and summarised as checkpoint_health does."""
    from spanstream.consumer._pyflink import _health_row, _job_key

    values = [
        encode_span(
            checkpoint_span(
                checkpoint_id=i,
                trigger_ts_millis=1_000 * i,
                latest_ack_ts_millis=1_000 * i + 50,
                full_size_bytes=1,
                checkpointed_size_bytes=1,
            ).build(extra_attributes={"jobId": "j-120"})
        )
        for i in (1, 2)
    ]
    assert _job_key(values[0]) == "j-120"
    row = _health_row("j-120", 0, 60_000, values)
    assert row is not None
    assert row[:7] == ("j-120", None, 0, 60_000, 2, 2, 0)
