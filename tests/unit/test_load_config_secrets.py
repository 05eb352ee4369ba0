"""load_config's errors say where a file is broken, never what it says there."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanstream.producer import load_config
from spanstream.schemas import ConfigError

CANARY = "canary-hunter2-secret"


def test_a_broken_yaml_file_error_names_the_line_but_not_the_text(tmp_path: Path) -> None:
    """The error has the line and column; neither it nor a chained cause quotes the password."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "traces.reporter.kafka.factory.class: kafka\n"
        f"traces.reporter.kafka.producer.sasl.password: {CANARY}: [\n"
    )
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert "line 2" in str(excinfo.value)
    assert CANARY not in str(excinfo.value)
    assert excinfo.value.__cause__ is None
