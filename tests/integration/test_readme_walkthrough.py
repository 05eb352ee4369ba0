"""The README's "Instrument your own code" example, run as written against the real broker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def section(title: str) -> str:
    """The text of the README section ``## title`` (up to the next ``## `` heading)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_instrument_your_own_code_runs_as_written(kafka_bootstrap, new_topic, tmp_path):
    """traces.yaml + the Python example deliver one tree (Compaction > load_batch) to tail."""
    text = section("Instrument your own code")
    (yaml_block,) = code_blocks(text, "yaml")
    (python_block,) = code_blocks(text, "python")
    topic = new_topic()
    assert "127.0.0.1:39092" in yaml_block
    assert "flink-traces" in yaml_block
    config = yaml_block.replace("127.0.0.1:39092", kafka_bootstrap).replace("flink-traces", topic)
    (tmp_path / "traces.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "example.py").write_text(python_block, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "1 trace delivered"

    tail = subprocess.run(
        [
            sys.executable,
            "-m",
            "spanstream.cli",
            "tail",
            topic,
            "--from-beginning",
            "--json",
            "--attr",
            "<job_name>=etl",
            "--max",
            "1",
            "--timeout",
            "60s",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
    )
    assert tail.returncode == 0, tail.stderr
    (compaction,) = [json.loads(line) for line in tail.stdout.splitlines()]
    assert compaction["name"] == "Compaction"
    assert [child["name"] for child in compaction["children"]] == ["load_batch"]
    assert compaction["attributes"]["rows"] == 1200
    for span in (compaction, compaction["children"][0]):
        assert span["attributes"]["<region>"] == "eu-west-1"
        assert span["attributes"]["<host>"] == "worker-1"
