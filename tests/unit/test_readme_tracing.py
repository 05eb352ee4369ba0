"""The README's "Report spans from Python" example runs and does what the text says."""

from __future__ import annotations

import logging

import pytest
from _readme import README, python_block


def _example() -> str:
    return python_block("Report spans from Python")


def test_readme_example_is_about_fifteen_lines():
    """The example stays short enough to read at a glance."""
    assert len(_example().strip().splitlines()) <= 20


def test_readme_example_reports_a_custom_and_a_checkpoint_span(capsys, caplog):
    """Both spans reach the logging and the in-memory reporter, with their scope variables."""
    namespace: dict[str, object] = {"__name__": "readme"}
    with caplog.at_level(logging.INFO, logger="spanstream.traces"):
        exec(compile(_example(), str(README), "exec"), namespace)
    variables = "{'<region>': 'eu-west-1', '<host>': 'worker-1', '<job_id>': 'etl-7'}"
    assert capsys.readouterr().out.splitlines() == [
        f"Compaction {variables}",
        f"Checkpoint {variables}",
        "420 ms",
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "spanstream.traces"]
    assert len(logged) == 2
    assert logged[0].startswith("Reported span: Span(my.app.Compactor/Compaction")
    assert "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker/Checkpoint" in logged[1]
    registry = namespace["registry"]
    assert registry.closed  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _restore_root_logger():
    # The example calls logging.basicConfig; leave the root logger as it was.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
