"""``spanstream demo --config`` with a misspelled key: a usage error naming it, never a run."""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers import run_cli

import spanstream.cli

DEMO_YAML = Path(spanstream.cli.__file__).parent / "demo.yaml"


@pytest.mark.parametrize(
    ("line", "key", "suggestion"),
    [
        ("traces.reporter.kafka.topik: x", "traces.reporter.kafka.topik", "topic"),
        (
            "traces.reporter.kafka.queue.max.span: 10",
            "traces.reporter.kafka.queue.max.span",
            "queue.max.spans",
        ),
        (
            "traces.reportr.kafka.topic: x",
            "traces.reportr.kafka.topic",
            "traces.reporter.kafka.topic",
        ),
    ],
)
def test_demo_with_a_misspelled_key_exits_2_naming_the_key_and_the_closest(
    kafka_bootstrap, tmp_path, line, key, suggestion
):
    """The demo's own configuration plus one misspelled key: exit 2, key and suggestion named."""
    path = tmp_path / "traces.yaml"
    path.write_text(DEMO_YAML.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    done = run_cli("demo", "--duration-s", "1", "--config", str(path), bootstrap=kafka_bootstrap)
    assert done.returncode == 2, done.stdout + done.stderr
    assert key in done.stderr
    assert f"did you mean {suggestion!r}?" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_misspelled_key_is_reported_before_the_broker_is_looked_for(tmp_path):
    """With no broker at the address, the misspelled key still comes first: exit 2, not 3."""
    path = tmp_path / "traces.yaml"
    path.write_text(
        DEMO_YAML.read_text(encoding="utf-8") + "traces.reporter.kafka.topik: x\n",
        encoding="utf-8",
    )
    done = run_cli("demo", "--config", str(path), bootstrap="127.0.0.1:1")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "traces.reporter.kafka.topik" in done.stderr
