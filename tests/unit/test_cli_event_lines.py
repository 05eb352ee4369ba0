"""The CLI's event renderings and filters, without a broker."""

from __future__ import annotations

import json
from pathlib import Path

from spanstream.cli._event_lines import event_line, event_line_long, event_to_dict
from spanstream.cli._export import events_path
from spanstream.cli._spans import SpanFilter
from spanstream.schemas import Event
from spanstream.schemas.system import job_failure_event

T0 = 1_700_000_000_000


def _custom(**build: bytes) -> Event:
    return (
        Event.builder("com.example.Loader", "Loaded\tnow")
        .set_observed_ts_millis(T0)
        .set_severity("WARN")
        .set_body("a\nb")
        .set_attribute("<job_name>", "etl\x1b[2J")
        .set_attribute("rows", 3)
        .build(**build)
    )


def test_event_line_escapes_control_characters():
    """The compact line holds no control character: name and job are escaped."""
    line = event_line(_custom())
    assert line == "2023-11-14T22:13:20.000Z  etl\\x1b[2J  Loaded\\tnow  WARN  rows=3"


def test_event_line_shows_failure_labels():
    """A JobFailureEvent's line shows canRestart and its failure labels."""
    event = job_failure_event(
        can_restart=False, failure_ts_millis=T0, failure_labels={"type": "user"}
    ).build()
    assert event_line(event).endswith("canRestart=false failureLabel.type=user")


def test_event_line_long_shows_body_and_trace():
    """--long: every attribute, the escaped body and the trace id."""
    line = event_line_long(_custom(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8))
    assert "body=a\\nb" in line
    assert "trace=" + "ab" * 16 in line
    assert "<job_name>=etl\\x1b[2J  " not in line
    assert "<job_name>=etl\\x1b[2J rows=3" in line


def test_event_to_dict_has_null_ids_when_absent():
    """An event without an enclosing span has null trace_id and span_id in JSON."""
    document = json.loads(json.dumps(event_to_dict(_custom())))
    assert document["trace_id"] is None
    assert document["span_id"] is None


def test_trace_id_filter_never_matches_an_event_without_one():
    """--trace-id keeps an event of that trace and drops one with no trace id."""
    wanted = SpanFilter.parse(trace_ids=["abab"])
    assert wanted.matches_event(_custom(trace_id=b"\xab" * 16))
    assert not wanted.matches_event(_custom())


def test_scope_filter_matches_the_events_short_scope():
    """--scope Loader matches the event of scope com.example.Loader."""
    assert SpanFilter.parse(scopes=["Loader"]).matches_event(_custom())
    assert not SpanFilter.parse(scopes=["Other"]).matches_event(_custom())


def test_events_file_sits_beside_the_spans_file():
    """export --out dir/spans.csv writes the events to dir/spans.events.csv."""
    assert events_path(Path("out/spans.csv")) == Path("out/spans.events.csv")
