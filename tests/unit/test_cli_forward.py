"""``spanstream forward``'s options: a bad one is one error line and exit 2, before any Kafka."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from spanstream.cli import app
from spanstream.cli._exit import ExitCode

BROKER = ["--bootstrap-servers", "127.0.0.1:9"]  # never reached: the options fail first


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--otlp-endpoint", "http://localhost:4317", "--protocol", "thrift"], "--protocol"),
        (["--otlp-endpoint", "http://localhost:4317", "--compression", "zstd"], "--compression"),
        (["--otlp-endpoint", "http://localhost:4317", "--bad-records", "ignore"], "--bad-records"),
        (["--otlp-endpoint", "http://localhost:4317", "--idle-exit", "soon"], "--idle-exit"),
        (["--otlp-endpoint", "http://localhost:4317", "--since", "yesterday"], "--since"),
        (["--otlp-endpoint", "localhost:4317"], "--otlp-endpoint: 'localhost:4317'"),
    ],
)
def test_a_bad_forward_option_is_a_usage_error(options, named):
    """Exit 2 with one ``error:`` line naming the option; no traceback."""
    result = CliRunner().invoke(app, ["forward", "flink-traces", *options, *BROKER])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "error:" in result.output
    assert named in result.output
    assert "Traceback" not in result.output
