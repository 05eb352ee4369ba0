"""The spanstream command against hostile input and new users, without a broker (issue #12)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spanstream.cli import app
from spanstream.cli._exit import EXIT_CODES_HELP, ExitCode
from spanstream.cli._health import HealthBoard
from spanstream.cli._spans import SpanFilter, escape_text, span_line, span_line_long
from spanstream.cli._stats import restored_text
from spanstream.cli._tail import TailOptions
from spanstream.schemas import Span
from spanstream.schemas.system import checkpoint_span

CANARY = "CANARY-pa55w0rd-7f3e"
NOWHERE = "127.0.0.1:1"
runner = CliRunner()


def _spanstream(*args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """The command as a process (so its own logging is configured, as for a user)."""
    return subprocess.run(
        [sys.executable, "-m", "spanstream.cli", *args],
        capture_output=True,
        text=True,
        env={"KAFKA_BOOTSTRAP_SERVERS": NOWHERE, "COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        timeout=timeout_s,
        check=False,
    )


def _one_error_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


# -- item 3: no secret in any message ------------------------------------------------------


def _secret_configs(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text(
        "traces.reporter.kafka.factory.class: kafka\n"
        f"traces.reporter.kafka.producer.sasl.password: {CANARY}: [x\n"
    )
    unreachable = tmp_path / "unreachable.yaml"
    unreachable.write_text(
        "traces.reporter.kafka.factory.class: kafka\n"
        f"traces.reporter.kafka.bootstrap.servers: {NOWHERE}\n"
        f"traces.reporter.kafka.producer.sasl.password: {CANARY}\n"
    )
    return bad_yaml, unreachable


@pytest.mark.parametrize(
    "case",
    [
        "demo-bad-yaml",
        "demo-unreachable",
        "tail-unknown-property",
        "tail-property-without-equals",
        "tail-bad-mechanism",
        "stats-unreachable",
        "export-bad-path",
    ],
)
def test_no_canary_password_in_any_failure(case, tmp_path):
    """A password given by --config or -X is never printed, whatever fails (logs at debug)."""
    bad_yaml, unreachable = _secret_configs(tmp_path)
    secret = f"sasl.password={CANARY}"
    args = {
        "demo-bad-yaml": ["demo", "--config", str(bad_yaml)],
        "demo-unreachable": ["demo", "--config", str(unreachable)],
        "tail-unknown-property": ["tail", "t", "-X", secret, "-X", "no.such.key=1"],
        "tail-property-without-equals": ["tail", "t", "-X", f"sasl.password:{CANARY}"],
        "tail-bad-mechanism": ["tail", "t", "-X", secret, "-X", f"sasl.mechanism={CANARY}"],
        "stats-unreachable": ["stats", "t", "-X", secret, "-X", "security.protocol=SASL_SSL"],
        "export-bad-path": ["export", "t", "--out", "/proc/x.csv", "-X", secret],
    }[case]
    done = _spanstream("--log-level", "debug", *args)
    assert done.returncode in {ExitCode.USAGE, ExitCode.BROKER_UNREACHABLE}, done.stderr
    assert CANARY not in done.stdout + done.stderr
    assert "error:" in done.stderr


def test_tail_options_repr_hides_client_properties():
    """The options' repr never shows -X values."""
    options = TailOptions(topic="t", properties={"sasl.password": CANARY})
    assert CANARY not in repr(options)


# -- item 7: no traceback, from any input --------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["export", "t", "--out", "/proc/x.csv"], "--out: cannot write /proc/x.csv"),
        (["export", "t", "--out", "/proc/x.parquet"], "--out: cannot write /proc/x.parquet"),
        (["stats", "t", "--plot", "/proc/x.png"], "--plot: cannot write /proc/x.png"),
    ],
)
def test_unwritable_output_path_is_refused_before_reading(args, named):
    """An output path that cannot be written: exit 2 with one line, before any broker is asked."""
    result = runner.invoke(app, args, env={"KAFKA_BOOTSTRAP_SERVERS": NOWHERE, "COLUMNS": "300"})
    assert result.exit_code == ExitCode.USAGE
    assert named in _one_error_line(result.output)


@pytest.mark.parametrize("since", ["99999999999999999999", "9223372036854775807"])
@pytest.mark.parametrize("command", [["stats", "t"], ["tail", "t"], ["export", "t", "-o", "x.csv"]])
def test_times_past_year_9999_are_usage_errors(command, since):
    """A --since too large for a timestamp: one line, exit 2, before any broker is asked."""
    result = runner.invoke(
        app, [*command, "--since", since], env={"KAFKA_BOOTSTRAP_SERVERS": NOWHERE}
    )
    assert result.exit_code == ExitCode.USAGE
    assert "past the year 9999" in _one_error_line(result.output)


# -- item 9: exit codes and usage errors ---------------------------------------------------


@pytest.mark.parametrize("args", [["tail"], ["tail", "t", "--bogus"], ["stats", "t", "--max", "x"]])
def test_usage_errors_are_one_line_not_a_box(args):
    """A click-level usage mistake: one 'error:' line naming where help is, exit 2, no box."""
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == ExitCode.USAGE
    line = _one_error_line(result.output)
    assert "--help" in line
    assert "╭" not in result.output


def test_ctrl_c_exit_code_130_is_documented():
    """130 for Ctrl-C is an exit code of its own, in --help."""
    assert ExitCode.INTERRUPTED == 130
    assert "130 interrupted (Ctrl-C)" in EXIT_CODES_HELP
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "300"})
    assert "130 interrupted" in " ".join(result.output.split())


@pytest.mark.parametrize("command", ["tail", "stats"])
def test_json_is_a_plain_flag_in_help(command):
    """--json shows no value type (it takes none) and has no --no-json twin."""
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    (line,) = [line for line in result.output.splitlines() if "--json " in line and "│" in line]
    assert "bool" not in line
    assert "--no-json" not in result.output


# -- item 11: tail lines -------------------------------------------------------------------


def _span_with(**attributes: object) -> Span:
    builder = (
        Span.builder("com.example.Loader", "Load")
        .set_start_ts_millis(1_704_067_200_000)
        .set_end_ts_millis(1_704_067_200_040)
    )
    for key, value in attributes.items():
        builder.set_attribute(key, value)  # type: ignore[arg-type]
    return builder.build()


def test_lines_escape_newlines_and_control_characters():
    """A value with a newline or a terminal escape stays on one line, escaped."""
    span = _span_with(note="two\nlines\x1b[2J\u2028end")
    for line in (span_line(span), span_line_long(span)):
        assert "\n" not in line
        assert "\x1b" not in line
        assert "\u2028" not in line
        assert "two\\nlines\\x1b[2J\\u2028end" in line


def test_escape_text_keeps_printable_unicode():
    """Only control characters are escaped; accents and emoji stay as they are."""
    assert escape_text("zürich ✓") == "zürich ✓"


def test_compact_line_is_short_and_long_line_has_every_attribute():
    """The default line stays readable with many attributes; --long keeps all of them."""
    many = {f"attribute{i:02d}": "x" * 30 for i in range(20)}
    span = _span_with(**many, **{"<job_name>": "etl", "<host>": "tm-1"})
    assert len(span_line(span)) < 200
    assert all(f"attribute{i:02d}=" in span_line_long(span) for i in range(20))


@pytest.mark.parametrize(
    ("attr", "matches"),
    [
        ("size=1000", True),
        ("size=1000.0", True),
        ("size=10*", True),
        ("ratio=0.5", True),
        ("cacheHit=TRUE", True),
        ("cacheHit=false", False),
        ("*Hit=true", True),
    ],
)
def test_attr_matches_typed_values_and_globs(attr, matches):
    """--attr compares numbers by value, booleans in any case, and takes globs on both sides."""
    span = _span_with(size=1000, ratio=0.5, cacheHit=True)
    assert SpanFilter.parse(attrs=[attr]).matches(span) is matches


def test_trace_id_filter_takes_a_prefix_and_rejects_non_hex():
    """--trace-id: a hex prefix matches its trace; other text is a usage error."""
    span = _span_with()
    prefix = span.trace_id.hex()[:8]
    assert SpanFilter.parse(trace_ids=[prefix]).matches(span)
    assert not SpanFilter.parse(trace_ids=["0" * 32]).matches(span) or prefix == "0" * 8
    result = runner.invoke(app, ["tail", "t", "--trace-id", "xyz"], env={"COLUMNS": "200"})
    assert result.exit_code == ExitCode.USAGE
    assert "--trace-id" in _one_error_line(result.output)


def test_format_template_without_placeholders_is_a_usage_error():
    """--format needs {field} placeholders; the message lists the fields."""
    result = runner.invoke(app, ["tail", "t", "--format", "plain"], env={"COLUMNS": "400"})
    assert result.exit_code == ExitCode.USAGE
    assert "trace_id" in _one_error_line(result.output)


# -- item 12: demo hints -------------------------------------------------------------------


def test_demo_with_unreachable_broker_suggests_what_the_demo_accepts():
    """The demo's hint names $KAFKA_BOOTSTRAP_SERVERS and --config, not an option it lacks."""
    done = _spanstream("demo", "--duration-s", "1")
    assert done.returncode == ExitCode.BROKER_UNREACHABLE
    assert "--bootstrap-servers" not in done.stderr
    assert "$KAFKA_BOOTSTRAP_SERVERS" in done.stderr


def test_demo_with_misspelt_factory_names_it(tmp_path):
    """factory.class: kafak is named as the problem, not answered with 'add' that same key."""
    path = tmp_path / "traces.yaml"
    path.write_text("traces.reporter.kafka.factory.class: kafak\n")
    result = runner.invoke(app, ["demo", "--config", str(path)], env={"COLUMNS": "500"})
    assert result.exit_code == ExitCode.USAGE
    line = _one_error_line(result.output)
    assert "'kafak'" in line
    assert "add " not in line


# -- item 15: small things -----------------------------------------------------------------


def test_stats_json_has_no_float_noise():
    """Quantiles in --json are rounded to a tenth (26.9, not 26.949999999999996)."""
    board = HealthBoard(keep_checkpoints=None)
    for i in range(4):
        board.observe(
            checkpoint_span(
                checkpoint_id=i + 1,
                trigger_ts_millis=1_700_000_000_000 + 10_000 * i,
                latest_ack_ts_millis=1_700_000_000_000 + 10_000 * i + 7 * (i + 1),
                full_size_bytes=1,
                checkpointed_size_bytes=1,
            ).build(extra_attributes={"<job_name>": "etl"})
        )
    (job,) = board.jobs()
    durations = job.to_dict()["checkpoints"]["duration_millis"]
    assert durations["p95"] == 26.9
    assert "99999" not in json.dumps(job.to_dict())


def test_restored_from_lists_each_checkpoint_once():
    """Restores from #3 three times and #6 once: '#3 x3, #6', not '#3, #3, #3, #6'."""
    assert restored_text([3, 3, 3, 6]) == "#3 x3, #6"
    assert restored_text([]) == "none (fresh starts)"
