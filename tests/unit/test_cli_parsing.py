"""The spanstream command's parsing: times, durations, span filters, span lines, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spanstream.cli import app
from spanstream.cli._exit import ExitCode, UsageError
from spanstream.cli._spans import SpanFilter, span_json, span_line, span_line_long
from spanstream.cli._timerange import TimeRange, format_ts_millis, parse_duration_s, parse_instant
from spanstream.schemas import Span

NOW = 1_764_000_000_000  # 2025-11-24T16:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", NOW - 600_000),
        ("90s", NOW - 90_000),
        ("1h30m", NOW - 5_400_000),
        ("2d", NOW - 172_800_000),
        ("250ms", NOW - 250),
        ("now", NOW),
        ("2024-01-01T00:00:00Z", 1_704_067_200_000),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200_000),
        ("2024-01-01T00:00:00", 1_704_067_200_000),
        ("2024-01-01", 1_704_067_200_000),
        ("1704067200123", 1_704_067_200_123),
    ],
)
def test_parse_instant_accepts_durations_iso_times_and_epoch_millis(text, expected):
    """Durations count back from now; ISO times without a zone are UTC; digits are epoch ms."""
    assert parse_instant(text, option="--since", now_millis=NOW) == expected


@pytest.mark.parametrize("text", ["10x", "yesterday", "", "-5m", "2024-13-01"])
def test_parse_instant_rejects_other_text_naming_the_option(text):
    """A malformed time is a usage error whose message names the option and the forms."""
    with pytest.raises(UsageError, match="--since") as caught:
        parse_instant(text, option="--since", now_millis=NOW)
    assert caught.value.exit_code is ExitCode.USAGE


def test_parse_instant_rejects_epoch_seconds_with_a_hint():
    """Ten digits look like epoch seconds: the message gives the milliseconds to use instead."""
    with pytest.raises(UsageError, match="1704067200000"):
        parse_instant("1704067200", option="--until", now_millis=NOW)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30", 30.0), ("30s", 30.0), ("2m", 120.0), ("1.5s", 1.5)]
)
def test_parse_duration_s(text, seconds):
    """Timeouts take plain seconds or a unit."""
    assert parse_duration_s(text, option="--timeout") == seconds


def test_parse_duration_s_rejects_garbage():
    """A malformed timeout is a usage error naming the option."""
    with pytest.raises(UsageError, match="--timeout"):
        parse_duration_s("soon", option="--timeout")


def test_time_range_needs_since_before_until():
    """--since after --until is refused."""
    with pytest.raises(UsageError, match="must be before"):
        TimeRange.parse("5m", "10m", now_millis=NOW)


def test_time_range_contains_since_but_not_until():
    """The range is [since, until)."""
    time_range = TimeRange.parse("10m", "5m", now_millis=NOW)
    assert time_range.contains(NOW - 600_000)
    assert not time_range.contains(NOW - 300_000)
    assert not time_range.contains(NOW - 600_001)


def test_open_time_range_contains_everything():
    """No --since and no --until: every time."""
    assert TimeRange.parse(None, None).contains(0)


def test_format_ts_millis_is_iso_utc_with_millis():
    """Times print as ISO 8601 UTC with milliseconds."""
    assert format_ts_millis(1_704_067_200_007) == "2024-01-01T00:00:00.007Z"


def _span(name="Checkpoint", scope="org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"):
    return (
        Span.builder(scope, name)
        .set_start_ts_millis(1_704_067_200_000)
        .set_end_ts_millis(1_704_067_200_120)
        .set_attribute("<job_name>", "etl")
        .set_attribute("checkpointStatus", "FAILED")
        .set_attribute("cacheHit", True)
        .add_child(Span.builder(scope, "Checkpoint_Task"))
        .build()
    )


@pytest.mark.parametrize(
    ("names", "scopes", "attrs", "matches"),
    [
        ((), (), (), True),
        (("Checkpoint",), (), (), True),
        (("Check*",), (), (), True),
        (("JobFailure", "Checkpoint"), (), (), True),
        (("Checkpoint_Task",), (), (), False),
        ((), ("*CheckpointStatsTracker",), (), True),
        ((), ("com.example.*",), (), False),
        ((), (), ("checkpointStatus=FAILED",), True),
        ((), (), ("<job_name>=etl", "cacheHit=true"), True),
        ((), (), ("cacheHit=True",), True),
        ((), (), ("cacheHit=false",), False),
        ((), (), ("checkpointStatus=FAIL*",), True),
        ((), (), ("check*=FAILED",), True),
        ((), (), ("<job_*>=e?l",), True),
        ((), ("CheckpointStatsTracker",), (), True),
        ((), ("Checkpoint*",), (), True),
        ((), (), ("missing=x",), False),
    ],
)
def test_span_filter(names, scopes, attrs, matches):
    """Names, scopes (full or short), attribute keys and values are globs; booleans match typed."""
    span_filter = SpanFilter.parse(names=names, scopes=scopes, attrs=attrs)
    assert span_filter.matches(_span()) is matches


def test_span_filter_rejects_attr_without_equals():
    """--attr needs key=value."""
    with pytest.raises(UsageError, match="key=value"):
        SpanFilter.parse(attrs=["checkpointStatus"])


def test_span_line_is_compact_time_job_name_duration_key_attributes():
    """The default line: start, job, name, duration, the span's key attributes, nested count."""
    line = span_line(_span())
    assert line == (
        "2024-01-01T00:00:00.000Z  etl  Checkpoint  120 ms  checkpointStatus=FAILED  (+1 nested)"
    )


def test_span_line_long_shows_time_duration_name_scope_attributes_and_nesting():
    """--long: start, duration, name, short scope, scope variables first, nested count."""
    line = span_line_long(_span())
    assert line.startswith(
        "2024-01-01T00:00:00.000Z      120 ms  Checkpoint  [CheckpointStatsTracker]"
    )
    assert "<job_name>=etl cacheHit=true checkpointStatus=FAILED" in line
    assert line.endswith("(+1 nested spans)")
    assert "\n" not in line


def test_span_json_round_trips_the_span_and_record_fields():
    """--json prints ids as hex, attributes typed, children nested, plus the record's origin."""
    span = _span()
    document = json.loads(span_json(span, topic="t", partition=2, offset=7))
    assert document["span_id"] == span.span_id.hex()
    assert document["attributes"]["cacheHit"] is True
    assert document["children"][0]["name"] == "Checkpoint_Task"
    assert (document["topic"], document["partition"], document["offset"]) == ("t", 2, 7)


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tail", "t", "--since", "10x"], "--since: '10x' is not a time"),
        (["tail", "t", "--attr", "nope"], "--attr: 'nope' is not key=value"),
        (["tail", "t", "--from-beginning", "--since", "5m"], "exclusive"),
        (["tail", "t", "--timeout", "soon"], "--timeout: 'soon' is not a duration"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(args, message):
    """A user mistake is one 'error:' line and exit code 2, never a traceback."""
    result = runner.invoke(app, args, env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["demo"],
        ["tail"],
        ["stats"],
        ["export"],
        ["broker"],
        ["broker", "start"],
        ["broker", "stop"],
        ["broker", "status"],
    ],
)
def test_every_command_has_help_with_an_example(command):
    """--help works everywhere and shows an example (or, for groups, the commands)."""
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.output or "Start with" in result.output


def test_top_level_help_documents_exit_codes():
    """The exit codes are in --help."""
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "3 Kafka broker unreachable" in result.output


def test_plot_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    """--plot without the 'plot' extra: one line saying what to install."""
    from spanstream.cli._stats import plot_checkpoints
    from spanstream.schemas import ExtraMissingError

    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    with pytest.raises(ExtraMissingError, match=r"spanstream\[plot\]"):
        plot_checkpoints([], tmp_path / "x.png")


def test_unreachable_broker_exits_3_naming_the_address_and_the_fix():
    """No broker at the address: exit 3, the address, and how to start one."""
    result = runner.invoke(app, ["stats", "t", "-b", "127.0.0.1:1"], env={"COLUMNS": "300"})
    assert result.exit_code == 3
    assert "no Kafka broker answers at 127.0.0.1:1 (--bootstrap-servers)" in result.output
    assert "spanstream broker start" in result.output


def test_running_the_app_in_process_leaves_logging_alone():
    """Invoking the app in-process (as tests do) does not reconfigure the root logger."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    runner.invoke(app, ["--log-level", "debug", "tail", "t", "--since", "bad"])
    assert (root.level, root.handlers) == (level, handlers)
